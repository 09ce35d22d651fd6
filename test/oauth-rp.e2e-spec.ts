import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import type TestAgent from 'supertest/lib/agent';
import { API, createTestApp, createUser, type TestApp } from './harness/test-app';
import { authorize, browser, logoutReceiver, REDIRECT, registerApp, type TestClient } from './harness/oauth';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const localPath = (url: URL): string => url.pathname + url.search;

describe('a real relying party (openid-client) against the provider', () => {
  let t: TestApp;
  let issuer: string;
  let rp: Awaited<ReturnType<typeof logoutReceiver>>;

  beforeAll(async () => {
    rp = await logoutReceiver();
    // openid-client speaks real HTTP: the app listens on loopback, and its issuer is that address.
    const port = await freePort();
    t = await createTestApp({ BASE_URL: `http://127.0.0.1:${port}` });
    await t.app.listen(port, '127.0.0.1');
    issuer = `http://127.0.0.1:${port}/oauth`;
  });
  afterAll(async () => {
    await new Promise((resolve) => rp.server.close(resolve));
    await t.close();
  });

  const discover = (client: TestClient) =>
    oidc.discovery(new URL(issuer), client.clientId, undefined, oidc.ClientSecretBasic(client.clientSecret), {
      execute: [oidc.allowInsecureRequests],
    });

  /** Signs in through the hosted login form and consent page, as a browser would; returns the callback URL. */
  async function signIn(
    config: oidc.Configuration,
    agent: TestAgent,
    user: { username: string; password: string },
  ): Promise<{ callback: URL; verifier: string; state: string; nonce: string }> {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email offline_access',
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const { location, page } = await authorize(agent, Object.fromEntries(url.searchParams), user);
    if (!location)
      throw new Error(`authorization stopped on a page: ${page?.status} ${page?.text.slice(0, 300)}`);
    return { callback: new URL(location), verifier, state, nonce };
  }

  it('signs in, refreshes, reads userinfo, introspects, revokes, and signs out with back-channel logouts', async () => {
    const main = await registerApp(
      t,
      { backchannel_logout_uri: `${rp.url}/main/logout`, backchannel_logout_session_required: true },
      {},
      'oidc_app',
    );
    const other = await registerApp(t, { backchannel_logout_uri: `${rp.url}/other/logout` });
    await registerApp(t, { backchannel_logout_uri: `${rp.url}/outsider/logout` });
    const user = await createUser(t, { email: 'rp@example.com' });

    const config = await discover(main);
    const server = config.serverMetadata();
    expect(server.issuer).toBe(issuer);
    expect(server).toMatchObject({
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      end_session_endpoint: `${issuer}/session/end/`,
    });

    // Authorization code + PKCE, the login form filled in over HTTP; openid-client checks state, iss,
    // the PKCE verifier, and the id_token's signature, audience and nonce.
    const agent = browser(t);
    const first = await signIn(config, agent, user);
    const tokens = await oidc.authorizationCodeGrant(config, first.callback, {
      pkceCodeVerifier: first.verifier,
      expectedState: first.state,
      expectedNonce: first.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    const sub = claims?.sub as string;
    expect(claims).toMatchObject({ iss: issuer, aud: main.clientId, nonce: first.nonce });
    expect(claims?.sid).toEqual(expect.any(String));
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, sub);
    expect(userinfo).toMatchObject({ sub, preferred_username: user.username, email: 'rp@example.com' });

    // Refresh rotates: the new pair works, the spent refresh token does not.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()?.sub).toBe(sub);

    const active = await oidc.tokenIntrospection(config, refreshed.access_token);
    expect(active).toMatchObject({ active: true, sub, client_id: main.clientId });
    await oidc.tokenRevocation(config, refreshed.access_token);
    expect(await oidc.tokenIntrospection(config, refreshed.access_token)).toEqual({ active: false });

    // A second app in the same browser session: single sign-on, then one sign-out ends both.
    const otherConfig = await discover(other);
    const second = await signIn(otherConfig, agent, user);
    const otherTokens = await oidc.authorizationCodeGrant(otherConfig, second.callback, {
      pkceCodeVerifier: second.verifier,
      expectedState: second.state,
      expectedNonce: second.nonce,
    });

    // RP-initiated logout: the end_session URL openid-client builds, confirmed on Arbor's page.
    const endSession = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token as string,
      post_logout_redirect_uri: REDIRECT,
      state: 'bye',
    });
    const confirm = await agent.get(localPath(endSession));
    expect(confirm.status).toBe(200);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.text)?.[1] as string;
    const done = await agent.post('/oauth/session/end/confirm/').type('form').send({ xsrf, logout: 'yes' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(`${REDIRECT}?state=bye`);

    // Every client of the session got one logout token, signed by the provider's key; the app that
    // was not in the session got none.
    expect(rp.tokens.get('/main/logout')).toHaveLength(1);
    expect(rp.tokens.get('/other/logout')).toHaveLength(1);
    expect(rp.tokens.get('/outsider/logout')).toBeUndefined();
    const jwks = createRemoteJWKSet(new URL(server.jwks_uri as string));
    const mainToken = (rp.tokens.get('/main/logout') as string[])[0];
    expect(decodeProtectedHeader(mainToken)).toMatchObject({ alg: 'ES256', typ: 'logout+jwt' });
    const { payload } = await jwtVerify(mainToken, jwks, {
      issuer,
      audience: main.clientId,
      typ: 'logout+jwt',
      algorithms: ['ES256'],
    });
    expect(payload).toMatchObject({
      sub,
      sid: claims?.sid,
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    });
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.nonce).toBeUndefined();
    const otherPayload = (
      await jwtVerify((rp.tokens.get('/other/logout') as string[])[0], jwks, {
        issuer,
        audience: other.clientId,
      })
    ).payload;
    expect(otherPayload.sub).toBe(sub);
    expect(otherPayload.sid).toBeUndefined();

    // The session's tokens are revoked, offline_access ones included, for both apps.
    expect(await oidc.tokenIntrospection(config, refreshed.refresh_token as string)).toEqual({
      active: false,
    });
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(
      oidc.refreshTokenGrant(otherConfig, otherTokens.refresh_token as string),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await oidc.tokenIntrospection(otherConfig, otherTokens.access_token)).toEqual({ active: false });
    // And the browser is signed out of Arbor.
    const workbench = await agent.get('/workbench/');
    expect(workbench.status).toBe(303);
  });

  it('signs out through the hosted /logout/ page with a back-channel logout too', async () => {
    const client = await registerApp(t, { backchannel_logout_uri: `${rp.url}/hosted/logout` });
    const user = await createUser(t);
    const config = await discover(client);
    const agent = browser(t);
    const flow = await signIn(config, agent, user);
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    const start = await agent.get('/logout/');
    expect(start.status).toBe(303);
    const confirm = await agent.get(start.headers.location);
    expect(confirm.status).toBe(200);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.text)?.[1] as string;
    const done = await agent.post('/oauth/session/end/confirm/').type('form').send({ xsrf, logout: 'yes' });
    expect(done.status).toBe(303);
    expect(rp.tokens.get('/hosted/logout')).toHaveLength(1);
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
  });

  it('still signs out when an app’s back-channel endpoint fails, and logs it', async () => {
    const client = await registerApp(t, { backchannel_logout_uri: `${rp.url.replace(/:\d+$/, ':1')}/down` });
    const user = await createUser(t);
    const config = await discover(client);
    const agent = browser(t);
    const flow = await signIn(config, agent, user);
    await oidc.authorizationCodeGrant(config, flow.callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    const confirm = await agent.get('/oauth/session/end/');
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.text)?.[1] as string;
    const done = await agent.post('/oauth/session/end/confirm/').type('form').send({ xsrf, logout: 'yes' });
    expect(done.status).toBe(303);
    expect(
      t.logs.some((line) => line.includes('back-channel logout failed') && line.includes(client.clientId)),
    ).toBe(true);
  });
});

describe('back-channel logout URI registration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it.each([
    'http://rp.example/logout',
    'https://rp.example/logout#frag',
    'rp.example/logout',
    '/logout',
    'javascript:alert(1)',
    'https://rp.example/a https://rp.example/b',
  ])('refuses %s, and writes nothing', async (uri) => {
    const uid = `bcl${Math.abs(uri.length * 7919) % 100000}x${Date.now() % 100000}`;
    const res = await t.http
      .post(`${API}/app/`)
      .set('Authorization', `Token ${await t.adminToken()}`)
      .send({ uid, name: uid, oidc_app: { redirect_uris: REDIRECT, backchannel_logout_uri: uri } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('https URL');
    const read = await t.http.get(`${API}/app/${uid}/`).set('Authorization', `Token ${await t.adminToken()}`);
    expect(read.status).toBe(404);
  });

  it('accepts https and loopback http, shows them, and clears them with an empty string', async () => {
    const client = await registerApp(t, {
      backchannel_logout_uri: 'https://rp.example/logout',
      backchannel_logout_session_required: true,
    });
    const token = await t.adminToken();
    const read = await t.http.get(`${API}/app/${client.appUid}/`).set('Authorization', `Token ${token}`);
    expect(read.body.oauth_app).toMatchObject({
      backchannel_logout_uri: 'https://rp.example/logout',
      backchannel_logout_session_required: true,
    });
    for (const uri of ['http://127.0.0.1:8080/logout', 'http://localhost/bc', 'http://[::1]:9/x', '']) {
      const res = await t.http
        .patch(`${API}/app/${client.appUid}/`)
        .set('Authorization', `Token ${token}`)
        .send({ oauth_app: { backchannel_logout_uri: uri } });
      expect(res.status).toBe(200);
      expect(res.body.oauth_app.backchannel_logout_uri).toBe(uri);
    }
    const discovery = await t.http.get('/oauth/.well-known/openid-configuration').expect(200);
    expect(discovery.body.backchannel_logout_supported).toBe(true);
  });
});
