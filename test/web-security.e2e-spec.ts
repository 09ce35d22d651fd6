import { API, createTestApp, createUser, type TestApp } from './harness/test-app';
import {
  authorize,
  browser,
  codeFrom,
  csrfOf,
  pkce,
  REDIRECT,
  registerApp,
  tokenRequest,
} from './harness/oauth';

/**
 * What the hosted pages and the provider must refuse: login CSRF (standalone and inside an authorization,
 * consent included), open redirects through `next`, the language switch and sign-out, the lockout rules
 * on the login form, expired codes, a code sent to another redirect URI, the password grant for a user
 * without the app's access permission.
 */
describe('hosted pages and provider security', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      OIDC_CODE_TTL_SECONDS: '5',
      LOGIN_LOCKOUT_THRESHOLD: '3',
      LOGIN_FREE_FAILURES: '0',
      LOGIN_DELAY_BASE_MS: '0',
    });
  });
  afterAll(() => t.close());

  it('refuses a login without the CSRF token bound to the browser, opening no session', async () => {
    const user = await createUser(t);
    const agent = browser(t);
    const form = await agent.get('/login/').expect(200);
    const token = csrfOf(form.text);
    const forged = await browser(t)
      .post('/login/')
      .type('form')
      .send({ csrf: token, username: user.username, password: user.password });
    expect(forged.status).toBe(403);
    expect(forged.headers['set-cookie']?.toString() ?? '').not.toContain('spauthn=');
    const missing = await agent
      .post('/login/')
      .type('form')
      .send({ username: user.username, password: user.password });
    expect(missing.status).toBe(403);
    const ok = await agent
      .post('/login/')
      .type('form')
      .send({ csrf: token, username: user.username, password: user.password });
    expect(ok.status).toBe(303);
    expect(ok.headers['set-cookie']?.toString()).toMatch(
      /spauthn=[0-9a-f]{64}; Path=\/; Expires=.*HttpOnly; SameSite=Lax/,
    );
    expect(form.headers['content-security-policy']).toBe(
      "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
  });

  it.each(['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)'])(
    'never redirects off-site through next=%s',
    async (next) => {
      const user = await createUser(t);
      const agent = browser(t);
      const form = await agent.get(`/login/?next=${encodeURIComponent(next)}`).expect(200);
      const res = await agent
        .post(`/login/?next=${encodeURIComponent(next)}`)
        .type('form')
        .send({ csrf: csrfOf(form.text), username: user.username, password: user.password });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/workbench/');
      const lang = await agent.get(`/lang/en/?next=${encodeURIComponent(next)}`).expect(303);
      expect(lang.headers.location).toBe('/workbench/');
    },
  );

  it('applies the lockout rules to the login form', async () => {
    const user = await createUser(t);
    const agent = browser(t);
    const token = csrfOf((await agent.get('/login/').expect(200)).text);
    for (let i = 0; i < 3; i++) {
      const res = await agent
        .post('/login/')
        .type('form')
        .send({ csrf: token, username: user.username, password: 'Wrong-pass-1' });
      expect([401, 429]).toContain(res.status);
    }
    const locked = await agent
      .post('/login/')
      .type('form')
      .send({ csrf: token, username: user.username, password: user.password });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(locked.text).toContain('role="alert"');
    // The API sees the same lock.
    await t.http
      .post(`${API}/ucenter/login/`)
      .send({ username: user.username, password: user.password })
      .expect(429);
  });

  it('refuses an expired authorization code', async () => {
    const client = await registerApp(t);
    const user = await createUser(t);
    const { verifier, challenge } = pkce();
    const { location } = await authorize(
      browser(t),
      {
        client_id: client.clientId,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      user,
    );
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const res = await tokenRequest(t, client).send({
      grant_type: 'authorization_code',
      code: codeFrom(location),
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });

  const authorizeQuery = (clientId: string, challenge: string) => ({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });

  it('refuses a login or a consent inside an authorization without the browser’s CSRF token', async () => {
    const client = await registerApp(t);
    const user = await createUser(t);
    const agent = browser(t);
    const started = await authorize(agent, authorizeQuery(client.clientId, pkce().challenge), null);
    const page = started.page?.text ?? '';
    const uid = /action="\/interaction\/([^/"]+)\/login"/.exec(page)?.[1] as string;
    expect(uid).toEqual(expect.any(String));
    for (const csrf of [undefined, 'forged', csrfOf((await browser(t).get('/login/')).text)]) {
      const res = await agent
        .post(`/interaction/${uid}/login`)
        .type('form')
        .send({ ...(csrf ? { csrf } : {}), username: user.username, password: user.password });
      expect(res.status).toBe(403);
      expect(res.headers['set-cookie']?.toString() ?? '').not.toContain('spauthn=');
      expect(res.headers.location).toBeUndefined();
    }
    // Signed in properly, a forged consent issues no code.
    const login = await agent
      .post(`/interaction/${uid}/login`)
      .type('form')
      .send({ csrf: csrfOf(page), username: user.username, password: user.password });
    // Consent comes next, so the sign-in answers with the consent page of the same interaction.
    expect(login.status).toBe(200);
    expect(login.text).toContain('id="allow"');
    const consentUid = /action="\/interaction\/([^/"]+)\/confirm"/.exec(login.text)?.[1] as string;
    expect(consentUid).toBe(uid);
    const forged = await agent
      .post(`/interaction/${consentUid}/confirm`)
      .type('form')
      .send({ csrf: 'forged' });
    expect(forged.status).toBe(400);
    expect(forged.headers.location).toBeUndefined();
  });

  it.each([
    'https://evil.example/',
    `${REDIRECT}/`,
    'https://rp.example/cb?x=1',
    'https://evil.example@rp.example/cb',
    'javascript:alert(1)',
  ])('never signs out to an unregistered post_logout_redirect_uri: %s', async (uri) => {
    const client = await registerApp(t);
    const agent = browser(t);
    const res = await agent.get(
      `/oauth/session/end/?${new URLSearchParams({ client_id: client.clientId, post_logout_redirect_uri: uri }).toString()}`,
    );
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    // The registered one (the app's redirect URI) is accepted, so the refusal is about the URI.
    const registered = await agent.get(
      `/oauth/session/end/?${new URLSearchParams({ client_id: client.clientId, post_logout_redirect_uri: REDIRECT }).toString()}`,
    );
    expect(registered.status).toBe(200);
  });

  it('sends /logout/ only to the provider’s sign-out, whatever next says', async () => {
    for (const next of ['https://evil.example/', '//evil.example', '/\\evil.example']) {
      const res = await browser(t)
        .get(`/logout/?next=${encodeURIComponent(next)}`)
        .expect(303);
      expect(res.headers.location).toBe('/oauth/session/end/');
    }
  });

  it('refuses a code presented with another redirect URI than it was issued for', async () => {
    const client = await registerApp(t, { redirect_uris: `${REDIRECT} https://rp.example/other` });
    const user = await createUser(t);
    const { verifier, challenge } = pkce();
    const { location } = await authorize(browser(t), authorizeQuery(client.clientId, challenge), user);
    const res = await tokenRequest(t, client).send({
      grant_type: 'authorization_code',
      code: codeFrom(location),
      redirect_uri: 'https://rp.example/other',
      code_verifier: verifier,
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });

  it('refuses the password grant to a user without the app’s access permission', async () => {
    const client = await registerApp(t, { authorization_grant_type: 'password' }, { allow_any_user: false });
    const user = await createUser(t);
    const res = await tokenRequest(t, client).send({
      grant_type: 'password',
      username: user.username,
      password: user.password,
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    expect(res.body.access_token).toBeUndefined();
  });
});
