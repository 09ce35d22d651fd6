import { DataSource } from 'typeorm';
import { API, createTestApp, createUser, type TestApp } from './harness/test-app';
import {
  authorize,
  browser,
  codeFrom,
  csrfOf,
  pkce,
  REDIRECT,
  registerApp,
  type TestClient,
  tokenRequest,
} from './harness/oauth';

describe('OAuth 2.0 / OIDC provider', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const authQuery = (client: TestClient, challenge: string, extra: Record<string, string> = {}) => ({
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid profile',
    state: 'st4te',
    nonce: 'n0nce',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });

  it('serves discovery with the ArkID paths', async () => {
    const res = await t.http.get('/oauth/.well-known/openid-configuration').expect(200);
    const path = (key: string) => new URL(res.body[key] as string).pathname;
    expect(path('authorization_endpoint')).toBe('/oauth/authorize/');
    expect(path('token_endpoint')).toBe('/oauth/token/');
    expect(path('revocation_endpoint')).toBe('/oauth/revoke_token/');
    expect(path('introspection_endpoint')).toBe('/oauth/introspect/');
    expect(path('jwks_uri')).toBe('/oauth/oidc/jwks/');
    expect(path('end_session_endpoint')).toBe('/oauth/session/end/');
    expect(res.body).toMatchObject({
      issuer: 'http://arbor.test/oauth',
      subject_types_supported: ['public'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    const jwks = await t.http.get('/oauth/oidc/jwks/').expect(200);
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.body.keys[0].d).toBeUndefined();
  });

  it('runs authorization code with PKCE through the hosted login and consent', async () => {
    const client = await registerApp(t);
    const user = await createUser(t, { email: 'pk@example.com' });
    const { verifier, challenge } = pkce();
    const agent = browser(t);
    const { location, page } = await authorize(agent, authQuery(client, challenge), user);
    expect(page).toBeNull();
    const url = new URL(location as string);
    expect(url.origin + url.pathname).toBe(REDIRECT);
    expect(url.searchParams.get('state')).toBe('st4te');
    expect(url.searchParams.get('iss')).toBe('http://arbor.test/oauth');
    const token = await tokenRequest(t, client).send({
      grant_type: 'authorization_code',
      code: codeFrom(location),
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ token_type: 'Bearer', scope: 'openid profile' });
    expect(token.body.refresh_token).toEqual(expect.any(String));
    const userinfo = await t.http
      .get('/oauth/userinfo/')
      .set('Authorization', `Bearer ${token.body.access_token}`)
      .expect(200);
    expect(userinfo.body).toMatchObject({
      preferred_username: user.username,
      data: { user: { name: user.username } },
    });
    const oidcInfo = await t.http
      .get('/oauth/oidc/userinfo/')
      .set('Authorization', `Bearer ${token.body.access_token}`)
      .expect(200);
    const idPayload = JSON.parse(
      Buffer.from((token.body.id_token as string).split('.')[1], 'base64url').toString(),
    ) as { sub: string; nonce: string; aud: string };
    expect(idPayload.sub).toBe(oidcInfo.body.sub);
    expect(idPayload.sub).toBe(userinfo.body.sub);
    expect(idPayload).toMatchObject({ nonce: 'n0nce', aud: client.clientId });
  });

  it('skips consent for a first-party app (skip_authorization), only for users who may use it', async () => {
    const admin = `Token ${await t.adminToken()}`;
    const client = await registerApp(t, { skip_authorization: true }, { allow_any_user: false });
    const app = await t.http.get(`${API}/app/${client.appUid}/`).set('Authorization', admin).expect(200);
    expect(app.body.oauth_app.skip_authorization).toBe(true);
    const bad = await t.http
      .patch(`${API}/app/${client.appUid}/`)
      .set('Authorization', admin)
      .send({ oauth_app: { skip_authorization: 'yes' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('skip_authorization');
    const grantsOf = async (clientId: string): Promise<number> => {
      const rows = await t.app
        .get(DataSource)
        .query<{ payload: string }[]>("SELECT payload FROM oidc_payloads WHERE model = 'Grant'");
      return rows.filter((row) => (JSON.parse(row.payload) as { clientId: string }).clientId === clientId)
        .length;
    };

    // Without the app's access permission: the refusal page, and no grant written for the app.
    const outsider = await createUser(t);
    const denied = await authorize(browser(t), authQuery(client, pkce().challenge), outsider, {
      consent: false,
    });
    expect(denied.page?.status).toBe(403);
    expect(await grantsOf(client.clientId)).toBe(0);

    // With it: from the login form straight back to the app, with the scopes it asked for.
    const user = await createUser(t);
    await t.http
      .patch(`${API}/perm/app_${client.appUid}_access/owner/`)
      .set('Authorization', admin)
      .send({ user_perm_status: [{ uid: user.username, status: 1 }], node_perm_status: [] })
      .expect(200);
    const agent = browser(t);
    const { verifier, challenge } = pkce();
    const query = authQuery(client, challenge, { scope: 'openid profile email' });
    const first = await authorize(agent, query, user, { consent: false });
    expect(first.page).toBeNull();
    const token = await tokenRequest(t, client).send({
      grant_type: 'authorization_code',
      code: codeFrom(first.location),
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    expect(token.status).toBe(200);
    expect(token.body.scope).toBe('openid profile email');
    expect(await grantsOf(client.clientId)).toBe(1);
    // Signed in already, asking for one more scope: still no consent page, and the same grant grows.
    const again = await authorize(agent, { ...query, scope: 'openid profile email phone' }, null, {
      consent: false,
    });
    expect(again.page).toBeNull();
    codeFrom(again.location);
    expect(await grantsOf(client.clientId)).toBe(1);
    // The app itself may still ask for the consent page.
    const prompted = await authorize(agent, { ...query, prompt: 'consent' }, null, { consent: false });
    expect(prompted.page?.text).toContain('id="allow"');

    // Marked third-party again: the next authorization asks for consent (clients are read live).
    await t.http
      .patch(`${API}/app/${client.appUid}/`)
      .set('Authorization', admin)
      .send({ oauth_app: { skip_authorization: false } })
      .expect(200);
    const asked = await authorize(browser(t), query, user, { consent: false });
    expect(asked.page?.text).toContain('id="allow"');
  });

  it('answers a sign-in with the consent page when consent comes next, then resumes once with both', async () => {
    const client = await registerApp(t);
    const user = await createUser(t, { email: 'held@example.com' });
    const apiAudience = 'http://arbor.test/siteapi/';
    const agent = browser(t);
    const { verifier, challenge } = pkce();
    const query = authQuery(client, challenge, {
      scope: 'openid profile email arbor.read',
      resource: apiAudience,
      claims: JSON.stringify({ id_token: { email: null } }),
    });
    const started = await authorize(agent, query, null);
    const loginPage = started.page?.text ?? '';
    const uid = /action="\/interaction\/([^/"]+)\/login"/.exec(loginPage)?.[1] as string;
    expect(uid).toEqual(expect.any(String));
    const signIn = await agent
      .post(`/interaction/${uid}/login`)
      .type('form')
      .send({ csrf: csrfOf(loginPage), username: user.username, password: user.password });
    // The consent page of the same interaction, listing everything asked for (the API scope too).
    expect(signIn.status).toBe(200);
    expect(signIn.headers.location).toBeUndefined();
    expect(/action="\/interaction\/([^/"]+)\/confirm"/.exec(signIn.text)?.[1]).toBe(uid);
    const listed = /<ul class="scopes">([\s\S]*?)<\/ul>/.exec(signIn.text)?.[1] ?? '';
    expect(listed.match(/<li>/g)).toHaveLength(4);
    expect(signIn.headers['set-cookie']?.toString()).toContain('spauthn=');

    // Approved: one resume leads to the app; the provider finds nothing more to ask.
    const confirmed = await agent
      .post(`/interaction/${uid}/confirm`)
      .type('form')
      .send({ csrf: csrfOf(signIn.text) });
    expect(confirmed.status).toBe(303);
    const resumed = await agent.get(new URL(confirmed.headers.location, 'http://arbor.test').pathname);
    expect(resumed.status).toBe(303);
    const location = resumed.headers.location;
    expect(location.startsWith(`${REDIRECT}?`)).toBe(true);
    const token = await tokenRequest(t, client).send({
      grant_type: 'authorization_code',
      code: codeFrom(location),
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      resource: apiAudience,
    });
    expect(token.status).toBe(200);
    const payload = (jwt: string) =>
      JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    expect(payload(token.body.access_token as string)).toMatchObject({
      aud: apiAudience,
      scope: 'arbor.read',
    });
    expect(payload(token.body.id_token as string)).toMatchObject({
      sub: expect.any(String),
      email: 'held@example.com',
    });
    // The provider's session took the sign-in: the next authorization needs no form and no consent.
    const again = await authorize(agent, authQuery(client, pkce().challenge), null, { consent: false });
    expect(again.page).toBeNull();
    codeFrom(again.location);
  });

  it('approves a held sign-in only for its own user, and a refusal reaches the app', async () => {
    const client = await registerApp(t);
    const [user, other] = [await createUser(t), await createUser(t)];
    const held = async () => {
      const agent = browser(t);
      const started = await authorize(agent, authQuery(client, pkce().challenge), null);
      const page = started.page?.text ?? '';
      const uid = /action="\/interaction\/([^/"]+)\/login"/.exec(page)?.[1] as string;
      const signIn = await agent
        .post(`/interaction/${uid}/login`)
        .type('form')
        .send({ csrf: csrfOf(page), username: user.username, password: user.password });
      expect(signIn.text).toContain('id="allow"');
      return { agent, uid, csrf: csrfOf(signIn.text) };
    };
    // The browser signs in as someone else before approving: no code, the expired page.
    const swapped = await held();
    await swapped.agent
      .post('/login/')
      .type('form')
      .send({ csrf: swapped.csrf, username: other.username, password: other.password })
      .expect(303);
    const refused = await swapped.agent
      .post(`/interaction/${swapped.uid}/confirm`)
      .type('form')
      .send({ csrf: swapped.csrf });
    expect(refused.status).toBe(400);
    expect(refused.headers.location).toBeUndefined();
    // Another browser has no hold on the interaction at all.
    const stranger = await browser(t)
      .post(`/interaction/${swapped.uid}/confirm`)
      .type('form')
      .send({ csrf: swapped.csrf });
    expect(stranger.status).toBe(400);
    // Denied on the page: the app receives access_denied.
    const denying = await held();
    const abort = await denying.agent
      .post(`/interaction/${denying.uid}/abort`)
      .type('form')
      .send({ csrf: denying.csrf });
    expect(abort.status).toBe(303);
    const back = await denying.agent.get(new URL(abort.headers.location, 'http://arbor.test').pathname);
    const error = new URL(back.headers.location);
    expect(`${error.origin}${error.pathname}`).toBe(REDIRECT);
    expect(error.searchParams.get('error')).toBe('access_denied');
  });

  it('rotates a client secret: shown once, audited, the old one refused on the next request', async () => {
    const client = await registerApp(t);
    const admin = { Authorization: `Token ${await t.adminToken()}` };
    const credentials = (secret: string) =>
      tokenRequest(t, { ...client, clientSecret: secret }).send({ grant_type: 'client_credentials' });
    expect((await credentials(client.clientSecret)).status).toBe(200);
    const rotated = await t.http.post(`${API}/app/${client.appUid}/oauth/secret/`).set(admin).expect(200);
    const fresh = (rotated.body as { client_id: string; client_secret: string }).client_secret;
    expect(rotated.body).toMatchObject({ client_id: client.clientId, redirect_uris: REDIRECT });
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fresh).not.toBe(client.clientSecret);
    const old = await credentials(client.clientSecret);
    expect(old.status).toBe(401);
    expect(old.body).toMatchObject({ error: 'invalid_client' });
    expect((await credentials(fresh)).status).toBe(200);
    // Shown once: reading the app back never shows it, and the logs never carried it.
    const app = await t.http.get(`${API}/app/${client.appUid}/`).set(admin).expect(200);
    expect((app.body as { oauth_app: { client_secret: string } }).oauth_app.client_secret).toBe('');
    expect(t.logs.join('\n')).not.toContain(fresh);
    const log = await t.http.get(`${API}/log/?page_size=5`).set(admin).expect(200);
    expect((log.body as { results: { subject: string; summary: string }[] }).results[0]).toMatchObject({
      subject: 'app_update',
      summary: expect.stringContaining(`(${client.appUid}) 的 OAuth client_secret`),
    });
    // No OIDC client on this app, and unknown apps, are not found; nothing changed for them.
    await t.http.post(`${API}/app/${client.appUid}/oidc/secret/`).set(admin).expect(404);
    await t.http.post(`${API}/app/nosuchapp/oauth/secret/`).set(admin).expect(404);
    expect((await credentials(fresh)).status).toBe(200);
  });

  it('reads clients through a cache that an app edit or deletion refreshes on the next request', async () => {
    const client = await registerApp(t);
    const admin = { Authorization: `Token ${await t.adminToken()}` };
    const other = 'https://rp.example/other';
    const authorizeWith = (redirectUri: string) =>
      t.http.get(
        `/oauth/authorize/?${new URLSearchParams({
          client_id: client.clientId,
          redirect_uri: redirectUri,
          response_type: 'code',
          scope: 'openid',
        }).toString()}`,
      );
    const credentials = () => tokenRequest(t, client).send({ grant_type: 'client_credentials' });
    expect((await authorizeWith(REDIRECT)).status).toBe(303);
    expect((await credentials()).status).toBe(200);
    await t.http
      .patch(`${API}/app/${client.appUid}/`)
      .set(admin)
      .send({ oauth_app: { redirect_uris: other } })
      .expect(200);
    const stale = await authorizeWith(REDIRECT);
    expect(stale.status).toBe(400);
    expect(stale.text).toContain('redirect_uri');
    expect((await authorizeWith(other)).status).toBe(303);
    await t.http.delete(`${API}/app/${client.appUid}/`).set(admin).expect(204);
    const gone = await credentials();
    expect(gone.status).toBe(401);
    expect(gone.body).toMatchObject({ error: 'invalid_client' });
  });

  it('answers RFC 6749 errors', async () => {
    const client = await registerApp(t);
    const res = await tokenRequest(t, { ...client, clientSecret: 'wrong' }).send({
      grant_type: 'client_credentials',
    });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid_client' });
    const info = await t.http.get('/oauth/userinfo/').set('Authorization', 'Bearer nope');
    expect(info.status).toBe(401);
    expect(info.body).toMatchObject({ error: 'invalid_token' });
    expect(API).toBe('/siteapi/v1');
  });
});
