import type TestAgent from 'supertest/lib/agent';
import { SigningKeysService } from '../src/modules/oidc/signing-keys.service';
import { API, createTestApp, createUser, type TestApp } from './harness/test-app';
import {
  authorize,
  basic,
  browser,
  codeFrom,
  csrfOf,
  pkce,
  REDIRECT,
  registerApp,
  type TestClient,
  tokenRequest,
} from './harness/oauth';

const API_AUDIENCE = 'http://arbor.test/siteapi/';

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
}

/**
 * Every grant over HTTP, and each way an attacker (or a stale client) must fail: PKCE, redirect URIs,
 * spent codes and refresh tokens, opt-in legacy grants, the permission engine, key rotation, the
 * Arbor API's bearer tokens, single sign-out. One file per database, with Redis-backed state at the end.
 */
describe.each([
  ['database', false],
  ['redis', true],
] as const)('OAuth grants (provider state in the %s)', (_label, useRedis) => {
  let t: TestApp;
  beforeAll(async () => {
    const redisUrl = process.env.ARBOR_TEST_REDIS_URL;
    if (useRedis && !redisUrl)
      throw new Error('ARBOR_TEST_REDIS_URL is not set: run through jest.e2e.config.js');
    t = await createTestApp(useRedis ? { REDIS_URL: `${redisUrl}/5` } : {});
  });
  afterAll(() => t.close());

  const query = (client: TestClient, challenge: string | null, extra: Record<string, string> = {}) => ({
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid profile groups',
    state: 'xyz',
    ...(challenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
    ...extra,
  });
  const exchange = (client: TestClient, fields: Record<string, string>) =>
    tokenRequest(t, client).send({ redirect_uri: REDIRECT, ...fields });
  const introspect = async (client: TestClient, token: string) =>
    (
      await t.http
        .post('/oauth/introspect/')
        .set('Authorization', basic(client))
        .type('form')
        .send({ token })
        .expect(200)
    ).body as { active: boolean; sub?: string; client_id?: string; scope?: string; aud?: unknown };
  /** A signed-in browser that completed one authorization: its agent and the token response. */
  const signedIn = async (client: TestClient, user: { username: string; password: string }, extra = {}) => {
    const agent = browser(t);
    const { verifier, challenge } = pkce();
    const { location } = await authorize(agent, query(client, challenge, extra), user);
    const res = await exchange(client, {
      grant_type: 'authorization_code',
      code: codeFrom(location),
      code_verifier: verifier,
    });
    expect(res.status).toBe(200);
    return { agent, tokens: res.body as Tokens, code: codeFrom(location), verifier };
  };

  describe('PKCE', () => {
    it('is required for public clients, and only S256 is accepted', async () => {
      const client = await registerApp(t, { client_type: 'public' });
      const user = await createUser(t);
      const missing = await authorize(browser(t), query(client, null), user);
      expect(new URL(missing.location as string).searchParams.get('error')).toBe('invalid_request');
      const plain = await authorize(
        browser(t),
        query(client, null, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }),
        user,
      );
      expect(new URL(plain.location as string).searchParams.get('error')).toBe('invalid_request');

      const { verifier, challenge } = pkce();
      const { location } = await authorize(browser(t), query(client, challenge), user);
      const wrong = await t.http
        .post('/oauth/token/')
        .type('form')
        .send({
          grant_type: 'authorization_code',
          client_id: client.clientId,
          redirect_uri: REDIRECT,
          code: codeFrom(location),
          code_verifier: pkce().verifier,
        });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toBe('invalid_grant');
      // A failed verifier does not let an attacker spend the code; the holder of the verifier can.
      const right = await t.http
        .post('/oauth/token/')
        .type('form')
        .send({
          grant_type: 'authorization_code',
          client_id: client.clientId,
          redirect_uri: REDIRECT,
          code: codeFrom(location),
          code_verifier: verifier,
        });
      expect(right.status).toBe(200);
    });

    it('refuses a verifier for a code issued without a challenge', async () => {
      const client = await registerApp(t);
      const user = await createUser(t);
      const { location } = await authorize(browser(t), query(client, null), user);
      const res = await exchange(client, {
        grant_type: 'authorization_code',
        code: codeFrom(location),
        code_verifier: pkce().verifier,
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
    });
  });

  it.each([
    `${REDIRECT}/`,
    REDIRECT.toUpperCase(),
    `${REDIRECT}/extra`,
    'https://rp.example/cb/..;/x',
    'https://evil@rp.example/cb',
    `${REDIRECT}?next=x`,
    `${REDIRECT}#frag`,
    'javascript:alert(1)',
    'http://rp.example/cb',
  ])('never redirects to an unregistered URI: %s', async (uri) => {
    const client = await registerApp(t);
    const res = await browser(t).get(
      `/oauth/authorize/?${new URLSearchParams({ ...query(client, pkce().challenge), redirect_uri: uri }).toString()}`,
    );
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(res.text).toContain('redirect_uri');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('spends a code once; presenting it again revokes what it issued', async () => {
    const client = await registerApp(t);
    const user = await createUser(t);
    const { tokens, code, verifier } = await signedIn(client, user);
    expect((await introspect(client, tokens.access_token)).active).toBe(true);
    const again = await exchange(client, { grant_type: 'authorization_code', code, code_verifier: verifier });
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
    expect((await introspect(client, tokens.access_token)).active).toBe(false);
    const refresh = await exchange(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    expect(refresh.body.error).toBe('invalid_grant');
  });

  it('rotates refresh tokens and revokes the family when a spent one comes back', async () => {
    const client = await registerApp(t);
    const user = await createUser(t);
    const { tokens } = await signedIn(client, user);
    const first = await exchange(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    expect(first.status).toBe(200);
    const rotated = first.body as Tokens;
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    expect((await introspect(client, rotated.access_token)).active).toBe(true);
    // The old one again: refused, and everything in its family goes with it.
    const reuse = await exchange(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    const next = await exchange(client, {
      grant_type: 'refresh_token',
      refresh_token: rotated.refresh_token as string,
    });
    expect(next.body.error).toBe('invalid_grant');
    expect((await introspect(client, rotated.access_token)).active).toBe(false);
  });

  it('issues client credentials tokens, introspects and revokes them', async () => {
    const client = await registerApp(t);
    const res = await tokenRequest(t, client).send({ grant_type: 'client_credentials' });
    expect(res.status).toBe(200);
    const token = (res.body as Tokens).access_token;
    expect(await introspect(client, token)).toMatchObject({ active: true, client_id: client.clientId });
    // Another app cannot read this app's token.
    expect((await introspect(await registerApp(t), token)).active).toBe(false);
    await t.http
      .post('/oauth/revoke_token/')
      .set('Authorization', basic(client))
      .type('form')
      .send({ token })
      .expect(200);
    expect((await introspect(client, token)).active).toBe(false);
    const post = await t.http.post('/oauth/token/').type('form').send({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
    });
    expect(post.status).toBe(200);
    const publicClient = await registerApp(t, { client_type: 'public' });
    const refused = await t.http
      .post('/oauth/token/')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: publicClient.clientId });
    expect(refused.body).toMatchObject({
      error: 'invalid_request',
      error_description: 'requested grant type is not allowed for this client',
    });
  });

  it('introspects user tokens with the same sub as the id_token and userinfo, and the groups claim', async () => {
    const client = await registerApp(t);
    const user = await createUser(t);
    const { tokens } = await signedIn(client, user);
    const info = await introspect(client, tokens.access_token);
    const id = JSON.parse(Buffer.from((tokens.id_token as string).split('.')[1], 'base64url').toString()) as {
      sub: string;
    };
    const userinfo = await t.http
      .get('/oauth/oidc/userinfo/')
      .set('Authorization', `Bearer ${tokens.access_token}`)
      .expect(200);
    expect(info).toMatchObject({ active: true, client_id: client.clientId, sub: id.sub });
    expect(userinfo.body).toMatchObject({ sub: id.sub, preferred_username: user.username, groups: [] });
    await t.http
      .post('/oauth/revoke_token/')
      .set('Authorization', basic(client))
      .type('form')
      .send({ token: tokens.access_token })
      .expect(200);
    await t.http.get('/oauth/userinfo/').set('Authorization', `Bearer ${tokens.access_token}`).expect(401);
  });

  it('asks the permission engine: access denied with a page saying why, granted on the very next request', async () => {
    const client = await registerApp(t, {}, { allow_any_user: false });
    const user = await createUser(t);
    const agent = browser(t);
    const { verifier, challenge } = pkce();
    const denied = await authorize(agent, query(client, challenge), user);
    expect(denied.page?.status).toBe(403);
    expect(denied.page?.text).toContain(`app_${client.appUid}_access`);
    const uid = /action="\/interaction\/([^/]+)\/abort"/.exec(denied.page?.text ?? '')?.[1] as string;
    const back = await agent
      .post(`/interaction/${uid}/abort`)
      .type('form')
      .send({ csrf: csrfOf(denied.page?.text ?? '') });
    expect(back.status).toBe(303);
    let res = await agent.get(
      new URL(back.headers.location, 'http://x').pathname + new URL(back.headers.location, 'http://x').search,
    );
    while (res.status === 303 && res.headers.location.includes('/oauth/')) {
      const next = new URL(res.headers.location, 'http://x');
      res = await agent.get(next.pathname + next.search);
    }
    const location = new URL(res.headers.location);
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('iss')).toBe('http://arbor.test/oauth');

    await t.http
      .patch(`${API}/perm/app_${client.appUid}_access/owner/`)
      .set('Authorization', `Token ${await t.adminToken()}`)
      .send({ user_perm_status: [{ uid: user.username, status: 1 }], node_perm_status: [] })
      .expect(200);
    const granted = await authorize(agent, query(client, challenge), user);
    const token = await exchange(client, {
      grant_type: 'authorization_code',
      code: codeFrom(granted.location),
      code_verifier: verifier,
    });
    expect(token.status).toBe(200);

    // Taken away again: the refresh and userinfo calls are refused at once.
    await t.http
      .patch(`${API}/perm/app_${client.appUid}_access/owner/`)
      .set('Authorization', `Token ${await t.adminToken()}`)
      .send({ user_perm_status: [{ uid: user.username, status: -1 }], node_perm_status: [] })
      .expect(200);
    const refresh = await exchange(client, {
      grant_type: 'refresh_token',
      refresh_token: (token.body as Tokens).refresh_token as string,
    });
    expect(refresh.body.error).toBe('invalid_grant');
    await t.http
      .get('/oauth/userinfo/')
      .set('Authorization', `Bearer ${(token.body as Tokens).access_token}`)
      .expect(401);
  });

  it('allows the password and implicit grants only to the app that asked for them', async () => {
    const user = await createUser(t);
    const normal = await registerApp(t);
    const legacy = await registerApp(t, { authorization_grant_type: 'password' });
    const refused = await exchange(normal, {
      grant_type: 'password',
      username: user.username,
      password: user.password,
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: 'invalid_request',
      error_description: 'requested grant type is not allowed for this client',
    });
    const wrong = await exchange(legacy, {
      grant_type: 'password',
      username: user.username,
      password: 'not-it-123',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
    const ok = await exchange(legacy, {
      grant_type: 'password',
      username: user.username,
      password: user.password,
      scope: 'profile',
    });
    expect(ok.status).toBe(200);
    const info = await t.http
      .get('/oauth/userinfo/')
      .set('Authorization', `Bearer ${(ok.body as Tokens).access_token}`)
      .expect(200);
    expect(info.body).toMatchObject({
      preferred_username: user.username,
      data: { user: { name: user.username } },
    });

    const implicitQuery = (client: TestClient) => ({
      client_id: client.clientId,
      response_type: 'id_token token',
      redirect_uri: REDIRECT,
      scope: 'openid',
      nonce: 'n',
      state: 's',
    });
    const notAllowed = await authorize(browser(t), implicitQuery(normal), user);
    expect(notAllowed.location).toContain('error=invalid_request');
    expect(notAllowed.location).toContain('requested+response_type+is+not+allowed+for+this+client');
    expect(notAllowed.location).not.toContain('access_token');
    const implicit = await registerApp(t, { authorization_grant_type: 'implicit' });
    const allowed = await authorize(browser(t), implicitQuery(implicit), user);
    expect(new URL(allowed.location as string).hash).toMatch(
      /access_token=.+id_token=|id_token=.+access_token=/,
    );
  });

  it('lets apps read the Arbor API with a JWT bearer token, read-only, and refuses what it must', async () => {
    const client = await registerApp(t);
    const user = await createUser(t);
    const { tokens, agent } = await signedIn(client, user, {
      scope: 'openid arbor.read',
      resource: API_AUDIENCE,
    });
    const refreshed = await exchange(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
      resource: API_AUDIENCE,
    });
    expect(refreshed.status).toBe(200);
    const jwt = (refreshed.body as Tokens).access_token;
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as {
      aud: string;
      scope: string;
    };
    expect(claims).toMatchObject({ aud: API_AUDIENCE, scope: 'arbor.read' });
    const bearer = { Authorization: `Bearer ${jwt}` };
    const me = await t.http.get(`${API}/auth/token/`).set(bearer).expect(200);
    expect(me.body.username).toBe(user.username);
    await t.http.get(`${API}/ucenter/profile/`).set(bearer).expect(200);
    await t.http.patch(`${API}/ucenter/profile/`).set(bearer).send({ name: 'x' }).expect(403);
    await t.http.post(`${API}/revoke/token/`).set(bearer).expect(403);
    const tampered = `${jwt.slice(0, -4)}AAAA`;
    await t.http.get(`${API}/auth/token/`).set('Authorization', `Bearer ${tampered}`).expect(401);
    // Client credentials tokens name no user: not accepted on the user API.
    const cc = await tokenRequest(t, client).send({
      grant_type: 'client_credentials',
      scope: 'arbor.read',
      resource: API_AUDIENCE,
    });
    expect(cc.status).toBe(200);
    await t.http
      .get(`${API}/auth/token/`)
      .set('Authorization', `Bearer ${(cc.body as Tokens).access_token}`)
      .expect(401);
    // The refresh token's family revoked: the API token goes with its grant.
    await exchange(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string });
    await t.http.get(`${API}/auth/token/`).set(bearer).expect(401);
    expect(agent).toBeDefined();
  });

  it('rotates the signing key, keeping tokens signed by the old key valid', async () => {
    const client = await registerApp(t);
    const user = await createUser(t);
    const { tokens } = await signedIn(client, user, { scope: 'openid arbor.read', resource: API_AUDIENCE });
    const old = await exchange(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
      resource: API_AUDIENCE,
    });
    const oldJwt = (old.body as Tokens).access_token;
    const kidOf = (jwt: string) =>
      (JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString()) as { kid: string }).kid;
    const { kid, retired } = await t.app.get(SigningKeysService).rotate();
    expect(retired).toContain(kidOf(oldJwt));
    const jwks = (await t.http.get('/oauth/oidc/jwks/').expect(200)).body as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([kid, ...retired]);
    await t.http.get(`${API}/auth/token/`).set('Authorization', `Bearer ${oldJwt}`).expect(200);
    const fresh = await exchange(client, {
      grant_type: 'refresh_token',
      refresh_token: (old.body as Tokens).refresh_token as string,
      resource: API_AUDIENCE,
    });
    expect(kidOf((fresh.body as Tokens).access_token)).toBe(kid);
    await t.http
      .get(`${API}/auth/token/`)
      .set('Authorization', `Bearer ${(fresh.body as Tokens).access_token}`)
      .expect(200);
  });

  it('ends every provider session, grant and token of a user whose password is reset or who is disabled', async () => {
    const client = await registerApp(t);
    for (const change of [
      (username: string) => ({
        path: `${API}/user/${username}/password/`,
        body: { password: 'Brand-new-pass-9', require_reset_password: false },
      }),
      (username: string) => ({ path: `${API}/user/${username}/`, body: { is_active: false } }),
    ]) {
      const user = await createUser(t);
      const { tokens, agent } = await signedIn(client, user, {
        scope: 'openid arbor.read',
        resource: API_AUDIENCE,
      });
      const api = await exchange(client, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token as string,
        resource: API_AUDIENCE,
      });
      const jwt = (api.body as Tokens).access_token;
      const opaque = await exchange(client, {
        grant_type: 'refresh_token',
        refresh_token: (api.body as Tokens).refresh_token as string,
      });
      expect(opaque.status).toBe(200);
      await t.http.get(`${API}/auth/token/`).set('Authorization', `Bearer ${jwt}`).expect(200);
      const { path, body } = change(user.username);
      await t.http
        .patch(path)
        .set('Authorization', `Token ${await t.adminToken()}`)
        .send(body)
        .expect(200);
      expect((await introspect(client, (opaque.body as Tokens).access_token)).active).toBe(false);
      const refresh = await exchange(client, {
        grant_type: 'refresh_token',
        refresh_token: (opaque.body as Tokens).refresh_token as string,
      });
      expect(refresh.body.error).toBe('invalid_grant');
      await t.http.get(`${API}/auth/token/`).set('Authorization', `Bearer ${jwt}`).expect(401);
      // The browser's provider session went too: the next authorization asks for the password again.
      const again = await authorize(agent, query(client, pkce().challenge), null);
      expect(again.page?.text).toContain('name="password"');
    }
  });

  it('signs out everywhere through end_session, to an exactly registered post-logout URI', async () => {
    const client = await registerApp(t);
    const user = await createUser(t);
    const { agent, tokens } = await signedIn(client, user);
    const logout = async (a: TestAgent, postLogout: string) =>
      a.get(
        `/oauth/session/end/?${new URLSearchParams({ id_token_hint: tokens.id_token as string, post_logout_redirect_uri: postLogout }).toString()}`,
      );
    const bad = await logout(agent, `${REDIRECT}/other`);
    expect(bad.status).toBe(400);
    const page = await logout(agent, REDIRECT);
    expect(page.status).toBe(200);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.text)?.[1] as string;
    const done = await agent.post('/oauth/session/end/confirm/').type('form').send({ xsrf, logout: 'yes' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(REDIRECT);
    // The Arbor session of the browser is over, and so is the app's refresh token of that session.
    const profile = await agent.get('/workbench/');
    expect(profile.status).toBe(303);
    expect(profile.headers.location).toContain('/login/');
    const refresh = await exchange(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    expect(refresh.body.error).toBe('invalid_grant');
  });
});
