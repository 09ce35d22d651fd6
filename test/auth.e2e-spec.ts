import { ADMIN_PASSWORD, API, createTestApp, createUser, login, type TestApp } from './harness/test-app';

// Passport keeps strategies in a process-wide registry, so each describe runs its own app, one at a time.
const authed = (token: string) => ({ Authorization: `Token ${token}` });

describe('authentication', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('logs in by username, private_email and mobile, with JSON or form bodies', async () => {
    const { username, password } = await createUser(t, {
      private_email: 'Han.Meimei@Example.com',
      mobile: '13900000001',
    });
    for (const body of [
      { username, password },
      { username: username.toUpperCase(), password },
      { private_email: 'han.meimei@example.com', password },
      { mobile: '13900000001', password },
    ]) {
      const res = await t.http.post(`${API}/ucenter/login/`).send(body).expect(200);
      expect(res.body).toMatchObject({ username, perms: [], roles: [], is_admin: false });
      expect(res.body.token).toMatch(/^[0-9a-f]{64}$/);
      expect(res.body).not.toHaveProperty('password');
    }
    const form = await t.http
      .post(`${API}/ucenter/login/`)
      .type('form')
      .send({ username, password })
      .expect(200);
    const cookie = String(form.headers['set-cookie']);
    expect(cookie).toMatch(/^spauthn=[0-9a-f]{64};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).not.toContain('Secure');
  });

  it('answers a wrong password and an unknown account identically', async () => {
    const { username } = await createUser(t);
    const wrong = await t.http.post(`${API}/ucenter/login/`).send({ username, password: 'Wrong-pass-1' });
    const unknown = await t.http
      .post(`${API}/ucenter/login/`)
      .send({ username: 'nosuchuser', password: 'Wrong-pass-1' });
    expect(wrong.status).toBe(400);
    expect(unknown.status).toBe(400);
    expect(wrong.body).toEqual({ non_field_errors: ['Unable to log in with provided credentials.'] });
    expect(unknown.body).toEqual(wrong.body);
    const missing = await t.http.post(`${API}/ucenter/login/`).send({ username }).expect(400);
    expect(missing.body).toHaveProperty('non_field_errors');
  });

  it('spends the same hash time on unknown accounts (no timing oracle)', async () => {
    const { username } = await createUser(t);
    const time = async (name: string) => {
      const started = process.hrtime.bigint();
      await t.http.post(`${API}/ucenter/login/`).send({ username: name, password: 'Wrong-pass-1' });
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      known.push(await time(username));
      unknown.push(await time(`ghost${i}x`));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[1];
    // An unknown account must not answer in a fraction of the argon2 time a real one takes.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
  });

  it('accepts the token by header and by cookie; rejects missing, malformed and unknown tokens with 401', async () => {
    const { username, password } = await createUser(t);
    const token = await login(t.http, { username, password });
    const me = await t.http.get(`${API}/auth/token/`).set(authed(token)).expect(200);
    expect(me.body).toMatchObject({ username, roles: [] });
    expect(me.body).not.toHaveProperty('token');
    await t.http.get(`/siteapi/oneid/auth/token/`).set('Cookie', `spauthn=${token}`).expect(200);
    expect((await t.http.get(`${API}/auth/token/`).expect(401)).body).toEqual({
      detail: 'Authentication credentials were not provided.',
    });
    expect(
      (await t.http.get(`${API}/auth/token/`).set('Authorization', `Bearer ${token}`).expect(401)).body
        .detail,
    ).toMatch(/Invalid token header/);
    await t.http
      .get(`${API}/auth/token/`)
      .set(authed('0'.repeat(64)))
      .expect(401, { detail: 'Invalid token.' });
  });

  it('gives each login its own token and revokes only the presented one', async () => {
    const { username, password } = await createUser(t);
    const laptop = await login(t.http, { username, password });
    const phone = await login(t.http, { username, password });
    expect(laptop).not.toBe(phone);
    await t.http.post(`${API}/revoke/token/`).set(authed(laptop)).expect(200, {});
    await t.http.get(`${API}/auth/token/`).set(authed(laptop)).expect(401);
    await t.http.get(`${API}/auth/token/`).set(authed(phone)).expect(200);
  });

  it('revokes every token of a user on password change, disable and delete', async () => {
    const admin = authed(await t.adminToken());
    const a = await createUser(t);
    const a1 = await login(t.http, a);
    const a2 = await login(t.http, a);
    await t.http
      .patch(`${API}/user/${a.username}/password/`)
      .set(admin)
      .send({ password: 'Brand-new-pass-9', require_reset_password: true })
      .expect(200);
    for (const token of [a1, a2]) await t.http.get(`${API}/auth/token/`).set(authed(token)).expect(401);
    const relogin = await t.http
      .post(`${API}/ucenter/login/`)
      .send({ username: a.username, password: 'Brand-new-pass-9' });
    expect(relogin.body.require_reset_password).toBe(true);

    const b = await createUser(t);
    const b1 = await login(t.http, b);
    await t.http.patch(`${API}/user/${b.username}/`).set(admin).send({ is_active: false }).expect(200);
    await t.http.get(`${API}/auth/token/`).set(authed(b1)).expect(401);
    const disabled = await t.http.post(`${API}/ucenter/login/`).send(b).expect(400);
    expect(disabled.body).toEqual({ non_field_errors: ['User account is disabled.'] });

    const c = await createUser(t);
    const c1 = await login(t.http, c);
    await t.http.delete(`${API}/user/${c.username}/`).set(admin).expect(204);
    await t.http.get(`${API}/auth/token/`).set(authed(c1)).expect(401);
  });

  it('keeps non-admins out of admin routes with 403', async () => {
    const u = await createUser(t);
    const token = await login(t.http, u);
    await t.http.get(`${API}/user/`).set(authed(token)).expect(403);
    await t.http.post(`${API}/user/${u.username}/unlock/`).set(authed(token)).expect(403);
    // No header, address or shared secret makes an admin.
    await t.http.get(`${API}/user/`).set('Arker', 'oneid_broker').expect(401);
  });

  it('lets a user read and change their own profile, but not privileged fields', async () => {
    const u = await createUser(t, { position: 'Engineer', private_email: 'self@example.com' });
    const token = await login(t.http, u);
    const res = await t.http
      .patch(`${API}/ucenter/profile/`)
      .set(authed(token))
      .send({
        name: '韩梅梅',
        gender: 2,
        is_admin: true,
        position: 'CEO',
        private_email: 'evil@example.com',
        username: 'root',
      })
      .expect(200);
    expect(res.body).toMatchObject({
      username: u.username,
      name: '韩梅梅',
      gender: 2,
      position: 'Engineer',
      private_email: 'self@example.com',
    });
    const me = await t.http.get(`${API}/auth/token/`).set(authed(token)).expect(200);
    expect(me.body).toMatchObject({ is_admin: false, roles: [] });
    await t.http.patch(`${API}/ucenter/profile/`).set(authed(token)).send({ gender: 9 }).expect(400);
  });

  it('logs one line per request with a request id, and never a password or token', async () => {
    const u = await createUser(t, { password: 'Very-secret-77' });
    const res = await t.http
      .post(`${API}/ucenter/login/`)
      .set('X-Request-Id', 'trace-abc-123')
      .send(u)
      .expect(200);
    expect(res.headers['x-request-id']).toBe('trace-abc-123');
    await t.http.get(`${API}/auth/token/`).set(authed(res.body.token));
    const joined = t.logs.join('\n');
    expect(joined).toContain('"request_id":"trace-abc-123"');
    expect(joined).not.toContain('Very-secret-77');
    expect(joined).not.toContain(res.body.token);
    expect(joined).not.toContain(ADMIN_PASSWORD);
  });
});

describe('session cookie behind a proxy', () => {
  it('marks the cookie Secure behind a trusted TLS proxy', async () => {
    const proxied = await createTestApp({ TRUST_PROXY: 'loopback' });
    try {
      const res = await proxied.http
        .post(`${API}/ucenter/login/`)
        .set('X-Forwarded-Proto', 'https')
        .send({ username: 'admin', password: ADMIN_PASSWORD })
        .expect(200);
      expect(String(res.headers['set-cookie'])).toContain('Secure');
    } finally {
      await proxied.close();
    }
  });
});

describe('token lifetimes', () => {
  it('expires tokens after the idle and the absolute lifetime', async () => {
    const short = await createTestApp({ TOKEN_IDLE_TTL_SECONDS: '600', TOKEN_ABSOLUTE_TTL_SECONDS: '1800' });
    try {
      const u = await createUser(short);
      const idle = await login(short.http, u);
      short.advanceClock(601_000);
      await short.http
        .get(`${API}/auth/token/`)
        .set(authed(idle))
        .expect(401, { detail: 'Token has expired.' });

      const busy = await login(short.http, u);
      for (let i = 0; i < 3; i++) {
        short.advanceClock(500_000);
        await short.http.get(`${API}/auth/token/`).set(authed(busy)).expect(200);
      }
      short.advanceClock(400_000);
      await short.http
        .get(`${API}/auth/token/`)
        .set(authed(busy))
        .expect(401, { detail: 'Token has expired.' });
    } finally {
      await short.close();
    }
  });
});
