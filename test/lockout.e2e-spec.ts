import pino from 'pino';
import { DataSource } from 'typeorm';
import { datetimeParameter } from '../src/common/database/transaction-runner';
import { LoginThrottleService, PURGE_THROTTLES_JOB } from '../src/modules/auth/login-throttle.service';
import { RedisRateLimiter } from '../src/modules/auth/rate-limit/ip-rate-limiter';
import { SchedulesService } from '../src/modules/jobs/schedules.service';
import { API, createTestApp, createUser, type TestApp } from './harness/test-app';

describe('brute-force protection', () => {
  let t: TestApp;
  beforeAll(async () => {
    // No progressive delay here, so the count alone decides; threshold 5.
    t = await createTestApp({
      LOGIN_LOCKOUT_THRESHOLD: '5',
      LOGIN_FREE_FAILURES: '100',
      LOGIN_LOCKOUT_SECONDS: '600',
    });
  });
  afterAll(() => t.close());

  const attempt = (body: object) => t.http.post(`${API}/ucenter/login/`).send(body);

  it('locks an account after exactly the threshold under 50 parallel wrong attempts', async () => {
    const u = await createUser(t);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => attempt({ username: u.username, password: 'Wrong-pass-1' })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 400)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(45);
    for (const r of results.filter((x) => x.status === 429)) {
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Locked: even the right password is refused until the lock ends or an admin unlocks.
    const locked = await attempt(u).expect(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(500);
    expect(locked.body.detail).toMatch(/Too many failed login attempts/);
    await t.http
      .post(`${API}/user/${u.username}/unlock/`)
      .set('Authorization', `Token ${await t.adminToken()}`)
      .expect(200);
    await attempt(u).expect(200);
  });

  it('unlocks by itself when the lock runs out, and a success resets the count', async () => {
    const u = await createUser(t);
    for (let i = 0; i < 5; i++) await attempt({ username: u.username, password: 'Wrong-pass-1' }).expect(400);
    await attempt(u).expect(429);
    t.advanceClock(601_000);
    await attempt(u).expect(200);
    for (let i = 0; i < 4; i++) await attempt({ username: u.username, password: 'Wrong-pass-1' }).expect(400);
    await attempt(u).expect(200);
    await attempt({ username: u.username, password: 'Wrong-pass-1' }).expect(400);
  });

  it('locks unknown identifiers the same way, so a lockout reveals nothing', async () => {
    const ghost = { username: 'ghostuser', password: 'Wrong-pass-1' };
    for (let i = 0; i < 5; i++) await attempt(ghost).expect(400);
    const res = await attempt(ghost).expect(429);
    expect(res.body.detail).toMatch(/Too many failed login attempts/);
  });

  it('counts a wrong current password on a password or contact change toward the same lockout', async () => {
    const u = await createUser(t);
    const session = (await attempt(u).expect(200)).body.token as string;
    const changePassword = (username: string, old_password: string) =>
      t.http
        .patch(`${API}/ucenter/password/`)
        .send({ username, old_password, new_password: 'Fresh-pass-2026' });
    // An unknown account answers as a wrong password does, and is counted the same way.
    const unknown = await changePassword(`nobody${u.username}`, 'Wrong-pass-1');
    expect([unknown.status, unknown.body]).toEqual([400, { old_password: ['invalid'] }]);
    for (let i = 0; i < 3; i++) {
      const wrong = await changePassword(u.username, 'Wrong-pass-1');
      expect([wrong.status, wrong.body]).toEqual([400, { old_password: ['invalid'] }]);
    }
    const contact = await t.http
      .patch(`${API}/ucenter/contact/`)
      .set('Authorization', `Token ${session}`)
      .send({ password: 'Wrong-pass-1', email_token: 'not-a-token' });
    expect([contact.status, contact.body]).toEqual([400, { password: ['invalid'] }]);
    await attempt({ username: u.username, password: 'Wrong-pass-1' }).expect(400);
    // Five failures: locked for every form that takes the password, the right one included.
    for (const refused of [await changePassword(u.username, u.password), await attempt(u)]) {
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(500);
    }
    await t.http
      .post(`${API}/user/${u.username}/unlock/`)
      .set('Authorization', `Token ${await t.adminToken()}`)
      .expect(200);
    expect((await changePassword(u.username, u.password)).status).toBe(200);
    await attempt({ username: u.username, password: 'Fresh-pass-2026' }).expect(200);
  });

  it('counts one account across all of its identifiers', async () => {
    const u = await createUser(t, { private_email: 'multi@example.com', mobile: '13700000007' });
    await attempt({ username: u.username, password: 'Wrong-pass-1' }).expect(400);
    await attempt({ private_email: 'multi@example.com', password: 'Wrong-pass-1' }).expect(400);
    await attempt({ mobile: '13700000007', password: 'Wrong-pass-1' }).expect(400);
    await attempt({ mobile: '13700000007', password: 'Wrong-pass-1' }).expect(400);
    await attempt({ username: u.username, password: 'Wrong-pass-1' }).expect(400);
    await attempt({ private_email: 'multi@example.com', password: u.password }).expect(429);
  });
});

describe('progressive delay', () => {
  it('makes the client wait longer after each failure past the free ones', async () => {
    const t = await createTestApp({
      LOGIN_FREE_FAILURES: '2',
      LOGIN_DELAY_BASE_MS: '4000',
      LOGIN_LOCKOUT_THRESHOLD: '10',
    });
    try {
      const u = await createUser(t);
      const wrong = { username: u.username, password: 'Wrong-pass-1' };
      const attempt = (body: object) => t.http.post(`${API}/ucenter/login/`).send(body);
      await attempt(wrong).expect(400);
      await attempt(wrong).expect(400);
      await attempt(wrong).expect(400);
      const wait = await attempt(u).expect(429);
      // MariaDB DATETIME keeps whole seconds, so the wait may read a second short.
      expect(['3', '4']).toContain(wait.headers['retry-after']);
      t.advanceClock(4000);
      await attempt(wrong).expect(400);
      expect(['7', '8']).toContain((await attempt(u).expect(429)).headers['retry-after']);
      t.advanceClock(8000);
      await attempt(u).expect(200);
    } finally {
      await t.close();
    }
  });
});

describe('per-IP throttling', () => {
  it('limits login requests per client address, with the count shared through Redis', async () => {
    const redisUrl = process.env.ARBOR_TEST_REDIS_URL;
    if (!redisUrl) throw new Error('the harness must start Redis');
    const t = await createTestApp({
      LOGIN_IP_LIMIT: '4',
      LOGIN_IP_WINDOW_SECONDS: '60',
      REDIS_URL: redisUrl,
      TRUST_PROXY: 'loopback',
    });
    // Another replica's limiter: the same class against the same Redis.
    const otherReplica = new RedisRateLimiter(redisUrl, pino({ level: 'silent' }));
    try {
      const ip = `203.0.113.${Math.floor(Math.random() * 200) + 1}`;
      const hit = () =>
        t.http
          .post(`${API}/ucenter/login/`)
          .set('X-Forwarded-For', ip)
          .send({ username: 'someone', password: 'x' });
      await hit().expect(400);
      await hit().expect(400);
      expect((await otherReplica.hit(`login:${ip}`, 4, 60_000)).allowed).toBe(true);
      await hit().expect(400);
      const throttled = await hit().expect(429);
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      expect((await otherReplica.hit(`login:${ip}`, 4, 60_000)).allowed).toBe(false);
      // Another address is not affected.
      await t.http
        .post(`${API}/ucenter/login/`)
        .set('X-Forwarded-For', '198.51.100.7')
        .send({ username: 'someone', password: 'x' })
        .expect(400);
    } finally {
      await otherReplica.close();
      await t.close();
    }
  });

  it('limits in memory without Redis', async () => {
    const t = await createTestApp({ LOGIN_IP_LIMIT: '2' });
    try {
      const hit = () => t.http.post(`${API}/ucenter/login/`).send({ username: 'someone', password: 'x' });
      await hit().expect(400);
      await hit().expect(400);
      await hit().expect(429);
    } finally {
      await t.close();
    }
  });

  it('purges the rows of subjects idle for a day, on an hourly job, keeping active ones', async () => {
    const t = await createTestApp({ LOGIN_LOCKOUT_THRESHOLD: '3', LOGIN_FREE_FAILURES: '100' });
    try {
      const rows = async (): Promise<number> => {
        const [{ n }] = await t.app
          .get(DataSource)
          .query<{ n: number | string }[]>('SELECT COUNT(*) AS n FROM login_throttles');
        return Number(n);
      };
      expect(await t.app.get(SchedulesService).get(PURGE_THROTTLES_JOB)).toMatchObject({
        cron: '17 * * * *',
      });
      const u = await createUser(t);
      const before = await rows();
      // Sprayed unknown identifiers each leave a row.
      for (let i = 0; i < 5; i++) {
        await t.http
          .post(`${API}/ucenter/login/`)
          .send({ username: `nobody${i}x`, password: 'x' })
          .expect(400);
      }
      for (let i = 0; i < 3; i++) {
        await t.http.post(`${API}/ucenter/login/`).send({ username: u.username, password: 'Wrong-1' });
      }
      expect(await rows()).toBe(before + 6);
      const throttle = t.app.get(LoginThrottleService);
      expect(await throttle.purgeIdle()).toBe(0);
      // A day later the unknown identifiers are gone; the account locked for a day more stays.
      await t.app
        .get(DataSource)
        .query('UPDATE login_throttles SET locked_until = ? WHERE subject_key = ?', [
          datetimeParameter(t.app.get(DataSource), new Date(Date.now() + 48 * 3600_000)),
          `u:${(u.body as { user_id: number }).user_id}`,
        ]);
      t.advanceClock(25 * 3600_000);
      expect(await throttle.purgeIdle()).toBe(before + 5);
      expect(await rows()).toBe(1);
      // The locked account is still locked: the purge kept what it meant.
      await t.http
        .post(`${API}/ucenter/login/`)
        .send({ username: u.username, password: u.password })
        .expect(429);
    } finally {
      await t.close();
    }
  });
});
