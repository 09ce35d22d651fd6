import { DataSource } from 'typeorm';
import { TasksService } from '../src/modules/jobs/tasks.service';
import { ReadinessService } from '../src/modules/ops/readiness.service';
import { freePort } from './harness/services';
import { API, createTestApp, createUser, login, type TestApp } from './harness/test-app';

/** The value of one Prometheus sample, matched by name and exact label set; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    const wanted = Object.entries(labels);
    if (wanted.length === Object.keys(found).length && wanted.every(([k, v]) => found[k] === v)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

describe('readiness', () => {
  it('is ready when the database answers, and says which checks ran', async () => {
    const t = await createTestApp();
    try {
      const res = await t.http.get('/ready/').expect(200);
      expect(res.body).toEqual({ ready: true, checks: { database: 'ok' } });
      expect(res.headers['cache-control']).toBe('no-store');
      // No token needed, like /ping/.
      await t.http.get('/ready').expect(200);
    } finally {
      await t.close();
    }
  });

  it('checks Redis when REDIS_URL is set', async () => {
    const t = await createTestApp({ REDIS_URL: process.env.ARBOR_TEST_REDIS_URL ?? '' });
    try {
      const res = await t.http.get('/ready/').expect(200);
      expect(res.body).toEqual({ ready: true, checks: { database: 'ok', redis: 'ok' } });
    } finally {
      await t.close();
    }
  });

  it('answers 503 naming Redis when Redis does not answer, while liveness stays up', async () => {
    const deadPort = await freePort();
    const t = await createTestApp({ REDIS_URL: `redis://127.0.0.1:${deadPort}` });
    try {
      const started = Date.now();
      const res = await t.http.get('/ready/').expect(503);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.body.ready).toBe(false);
      expect(res.body.checks.database).toBe('ok');
      expect(res.body.checks.redis).toMatch(/^down: /);
      await t.http.get('/ping/').expect(200);
    } finally {
      await t.close();
    }
  });

  it('answers 503 naming the database when the database is gone', async () => {
    const t = await createTestApp();
    try {
      await t.app.get(DataSource).destroy();
      const res = await t.http.get('/ready/').expect(503);
      expect(res.body.ready).toBe(false);
      expect(res.body.checks.database).toMatch(/^down: /);
      await t.http.get('/ping/').expect(200);
    } finally {
      await t.close();
    }
  });
  it('answers 503 once shutdown has begun, so no new requests are routed here', async () => {
    const t = await createTestApp();
    try {
      await t.http.get('/ready/').expect(200);
      t.app.get(ReadinessService).beforeApplicationShutdown();
      const res = await t.http.get('/ready/').expect(503);
      expect(res.body).toEqual({
        ready: false,
        checks: { database: 'ok', shutdown: 'down: shutting down' },
      });
    } finally {
      await t.close();
    }
  });
});

describe('metrics disabled (the default)', () => {
  it('answers 404 at /metrics', async () => {
    const t = await createTestApp();
    try {
      await t.http.get('/metrics').expect(404, { detail: 'Not found.' });
    } finally {
      await t.close();
    }
  });
});

describe('metrics', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  const scrape = async (): Promise<string> => {
    const res = await t.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text;
  };

  beforeAll(async () => {
    t = await createTestApp({
      METRICS_ENABLED: 'true',
      LOGIN_LOCKOUT_THRESHOLD: '3',
      LOGIN_FREE_FAILURES: '100',
    });
    admin = { Authorization: `Token ${await t.adminToken()}` };
  });
  afterAll(() => t.close());

  it('counts requests by route template and status, never by raw path', async () => {
    const user = await createUser(t, { username: 'metricsuser7' });
    const route = '/siteapi/v1/user/:username';
    const before = sample(await scrape(), 'arbor_http_requests_total', {
      method: 'GET',
      route,
      status: '200',
    });
    await t.http.get(`${API}/user/${user.username}/`).set(admin).expect(200);
    await t.http.get(`${API}/user/${user.username}/`).set(admin).expect(200);
    await t.http.get(`${API}/user/nosuchuser42/`).set(admin).expect(404);
    await t.http.get('/no/such/path/12345').expect(404);
    const text = await scrape();
    expect(sample(text, 'arbor_http_requests_total', { method: 'GET', route, status: '200' })).toBe(
      (before ?? 0) + 2,
    );
    expect(sample(text, 'arbor_http_requests_total', { method: 'GET', route, status: '404' })).toBe(1);
    expect(
      sample(text, 'arbor_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'arbor_http_request_duration_seconds_count', { method: 'GET', route, status: '200' }),
    ).toBe((before ?? 0) + 2);
    expect(
      sample(text, 'arbor_http_request_duration_seconds_bucket', {
        method: 'GET',
        route,
        status: '200',
        le: '+Inf',
      }),
    ).toBe((before ?? 0) + 2);
    // No id, username or unmatched path ever becomes a label value.
    expect(text).not.toContain('metricsuser7');
    expect(text).not.toContain('nosuchuser42');
    expect(text).not.toContain('12345');
  });

  it('counts and tags the requests of the OAuth provider, which are answered before Express', async () => {
    const labels = (route: string, status: string) => ({ method: 'GET', route, status });
    const discovery = '/oauth/.well-known/openid-configuration';
    const before = sample(await scrape(), 'arbor_http_requests_total', labels(discovery, '200')) ?? 0;
    const res = await t.http.get(discovery).set('X-Request-Id', 'rp-trace-0001').expect(200);
    expect(res.headers['x-request-id']).toBe('rp-trace-0001');
    await t.http.get('/oauth/authorize/NoSuchInteraction99').expect(400);
    await t.http.post('/oauth/token/').type('form').send({ grant_type: 'client_credentials' }).expect(400);
    const text = await scrape();
    expect(sample(text, 'arbor_http_requests_total', labels(discovery, '200'))).toBe(before + 1);
    expect(sample(text, 'arbor_http_requests_total', labels('/oauth/authorize/:uid', '400'))).toBe(1);
    expect(
      sample(text, 'arbor_http_requests_total', { method: 'POST', route: '/oauth/token/', status: '400' }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('NoSuchInteraction99');
  });

  it('counts login successes, failures and lockouts', async () => {
    const user = await createUser(t);
    const attempt = (password: string) =>
      t.http.post(`${API}/ucenter/login/`).send({ username: user.username, password });
    const before = await scrape();
    const count = (text: string, outcome: string) =>
      sample(text, 'arbor_login_attempts_total', { outcome }) ?? 0;
    await attempt(user.password).expect(200);
    for (let i = 0; i < 3; i++) await attempt('Wrong-pass-1').expect(400);
    await attempt(user.password).expect(429);
    await attempt('Wrong-pass-1').expect(429);
    const after = await scrape();
    expect(count(after, 'success') - count(before, 'success')).toBe(1);
    expect(count(after, 'failure') - count(before, 'failure')).toBe(3);
    expect(count(after, 'locked') - count(before, 'locked')).toBe(2);
    expect(count(after, 'throttled') - count(before, 'throttled')).toBe(0);
  });

  it('counts permission decisions by result', async () => {
    const appUid = (await t.http.post(`${API}/app/`).set(admin).send({ name: 'metricsapp' }).expect(201)).body
      .uid as string;
    const user = await createUser(t);
    const headers = { Authorization: `Token ${await login(t.http, user)}` };
    const perm = `app_${appUid}_access`;
    const before = await scrape();
    const count = (text: string, result: string) =>
      sample(text, 'arbor_permission_decisions_total', { result }) ?? 0;
    await t.http.get(`${API}/auth/token/?perm_uid=${perm}`).set(headers).expect(403);
    await t.http
      .patch(`${API}/perm/${perm}/owner/`)
      .set(admin)
      .send({ user_perm_status: [{ uid: user.username, status: 1 }] })
      .expect(200);
    await t.http.get(`${API}/auth/token/?perm_uid=${perm}`).set(headers).expect(200);
    await t.http.get(`${API}/auth/token/?perm_uid=${perm}`).set(headers).expect(200);
    // Without perm_uid nothing is decided.
    await t.http.get(`${API}/auth/token/`).set(headers).expect(200);
    const after = await scrape();
    expect(count(after, 'granted') - count(before, 'granted')).toBe(2);
    expect(count(after, 'denied') - count(before, 'denied')).toBe(1);
  });

  it('counts job attempts and their durations by job and outcome', async () => {
    const job = 'lifecycle-purge-expired';
    const before = sample(await scrape(), 'arbor_job_runs_total', { job, outcome: 'success' }) ?? 0;
    const { task } = await t.app.get(TasksService).enqueue(job, {});
    // Without Redis the API runs the job itself; wait for it to finish.
    for (let i = 0; i < 100; i++) {
      if ((await t.app.get(TasksService).result(task.taskId)).status >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const text = await scrape();
    expect(sample(text, 'arbor_job_runs_total', { job, outcome: 'success' })).toBe(before + 1);
    expect(sample(text, 'arbor_job_duration_seconds_count', { job, outcome: 'success' })).toBe(before + 1);
  });

  it('exposes process metrics', async () => {
    const text = await scrape();
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });
});

describe('metrics behind a token', () => {
  const token = 'scrape-token-0123456789';
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ METRICS_ENABLED: 'true', METRICS_TOKEN: token });
  });
  afterAll(() => t.close());

  it('refuses scrapes without the right bearer token', async () => {
    const none = await t.http.get('/metrics').expect(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(none.text).not.toContain('arbor_http_requests_total');
    await t.http.get('/metrics').set('Authorization', `Bearer ${token}x`).expect(401);
    await t.http.get('/metrics').set('Authorization', `Token ${token}`).expect(401);
    await t.http.get('/metrics').set('Authorization', 'Bearer').expect(401);
  });

  it('serves them with it', async () => {
    const res = await t.http.get('/metrics').set('Authorization', `Bearer ${token}`).expect(200);
    expect(res.text).toContain('# TYPE arbor_http_requests_total counter');
    // The refused scrapes were counted as requests too.
    expect(
      sample(res.text, 'arbor_http_requests_total', { method: 'GET', route: '/metrics', status: '401' }),
    ).toBeGreaterThanOrEqual(4);
  });
});
