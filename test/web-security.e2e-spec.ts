import { API, createTestApp, createUser, type TestApp } from './harness/test-app';
import { authorize, basic, browser, codeFrom, csrfOf, pkce, REDIRECT, registerApp } from './harness/oauth';

/**
 * What the hosted pages and the provider must refuse: login CSRF, open redirects through `next` and the
 * language switch, the lockout rules on the login form, expired codes.
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
    const res = await t.http
      .post('/oauth/token/')
      .set('Authorization', basic(client))
      .type('form')
      .send({
        grant_type: 'authorization_code',
        code: codeFrom(location),
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });
});
