import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csrfOf } from './harness/oauth';
import { type ServerProcess, startServerProcess } from './harness/server-process';
import { type RunningService, startRedis, stopService } from './harness/services';
import { ADMIN_PASSWORD, API, freshMigratedDatabaseEnv, testDatabaseKind } from './harness/test-app';

const REDIRECT_URI = 'https://rp.outage.example/cb';

const waitUntil = async (done: () => boolean, timeoutMs = 20000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not reached in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

interface Answer {
  status: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

/**
 * Redis going away under a running API: what needs it (logins through the shared rate limit, the
 * provider's tokens) answers 503 with Retry-After, what does not keeps working, the log says so in a
 * few structured lines instead of an error per reconnection attempt, and all of it comes back with Redis.
 */
describe(`Redis outage (${testDatabaseKind()})`, () => {
  let dir: string;
  let drop: () => Promise<void>;
  let redis: RunningService;
  let server: ServerProcess;
  let adminToken: string;
  let basic: string;
  let clientId: string;
  /** An app allowed the password grant: its check of the password runs in Arbor's own hook. */
  let passwordBasic: string;

  const call = async (path: string, init: RequestInit = {}): Promise<Answer> => {
    const res = await fetch(`${server.url}${path}`, init);
    const text = await res.text();
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text },
    };
  };
  const login = () =>
    call(`${API}/ucenter/login/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
  const clientCredentials = () =>
    call('/oauth/token/', {
      method: 'POST',
      headers: { Authorization: basic, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
  const linesWith = (text: string) => server.logs.filter((line) => line.includes(text));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbor-redis-outage-'));
    const database = await freshMigratedDatabaseEnv();
    drop = database.drop;
    redis = await startRedis();
    server = await startServerProcess(dir, { ...database.env, REDIS_URL: redis.url });
    const admin = await login();
    expect(admin.status).toBe(200);
    adminToken = admin.body.token as string;
    const app = await call(`${API}/app/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Token ${adminToken}` },
      body: JSON.stringify({
        name: `outage${process.pid % 1000}`,
        oauth_app: { redirect_uris: REDIRECT_URI },
      }),
    });
    expect(app.status).toBe(201);
    const client = app.body.oauth_app as { client_id: string; client_secret: string };
    clientId = client.client_id;
    const legacy = await call(`${API}/app/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Token ${adminToken}` },
      body: JSON.stringify({
        name: `outagepw${process.pid % 1000}`,
        allow_any_user: true,
        oauth_app: { redirect_uris: REDIRECT_URI, authorization_grant_type: 'password' },
      }),
    });
    expect(legacy.status).toBe(201);
    const legacyClient = legacy.body.oauth_app as { client_id: string; client_secret: string };
    passwordBasic = `Basic ${Buffer.from(`${legacyClient.client_id}:${legacyClient.client_secret}`).toString('base64')}`;
    basic = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
  }, 120000);

  afterAll(async () => {
    await server?.stop();
    if (redis) stopService(redis);
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After while Redis is down, logs it once per connection, and recovers', async () => {
    expect((await clientCredentials()).status).toBe(200);
    const port = Number(new URL(redis.url).port);
    stopService(redis);

    const refusedLogin = await login();
    expect(refusedLogin).toMatchObject({
      status: 503,
      retryAfter: '5',
      body: { detail: 'The service is temporarily unavailable, try again shortly.' },
    });
    expect(typeof refusedLogin.body.request_id).toBe('string');
    const refusedToken = await clientCredentials();
    expect(refusedToken).toMatchObject({
      status: 503,
      retryAfter: '5',
      body: { error: 'temporarily_unavailable' },
    });
    // The same from a provider hook of Arbor's (the password grant's login limits), not the storage.
    const refusedPassword = await call('/oauth/token/', {
      method: 'POST',
      headers: { Authorization: passwordBasic, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username: 'admin',
        password: ADMIN_PASSWORD,
      }).toString(),
    });
    expect(refusedPassword).toMatchObject({
      status: 503,
      retryAfter: '5',
      body: { error: 'temporarily_unavailable' },
    });
    // The authorization endpoint tells the app, at its registered redirect URI (RFC 6749 §4.1.2.1).
    const authorize = await fetch(
      `${server.url}/oauth/authorize/?${new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        state: 'outage-state',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }).toString()}`,
      { redirect: 'manual' },
    );
    const answer = new URL(authorize.headers.get('location') ?? '', server.url);
    expect(`${answer.origin}${answer.pathname}`).toBe(REDIRECT_URI);
    expect(Object.fromEntries(answer.searchParams)).toMatchObject({
      error: 'temporarily_unavailable',
      state: 'outage-state',
    });
    // A hosted page answers with the error page, not the API's JSON.
    const form = await fetch(`${server.url}/login/`);
    const cookie = (form.headers.getSetCookie()[0] ?? '').split(';')[0];
    const page = await fetch(`${server.url}/login/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
      body: new URLSearchParams({
        csrf: csrfOf(await form.text()),
        username: 'admin',
        password: ADMIN_PASSWORD,
      }).toString(),
    });
    expect([page.status, page.headers.get('retry-after')]).toEqual([503, '5']);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('temporarily_unavailable');
    // What rests on the database alone goes on: the admin's token and the apps API.
    const apps = await call(`${API}/app/`, { headers: { Authorization: `Token ${adminToken}` } });
    expect(apps.status).toBe(200);

    // One structured line per connection, however many reconnection attempts the outage took.
    const purposes = ['OAuth provider state', 'rate limits', 'job queue'];
    const lostLines = (purpose: string) =>
      linesWith('Redis unreachable; reconnecting').filter((line) => line.includes(`"${purpose}"`));
    await waitUntil(() => purposes.every((purpose) => lostLines(purpose).length > 0));
    // Reconnection attempts go on meanwhile; none of them is logged again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const purpose of purposes) expect(lostLines(purpose)).toHaveLength(1);
    expect(linesWith('Unhandled error event')).toEqual([]);
    expect(server.logs.filter((line) => line.startsWith('Error: '))).toEqual([]);
    expect(linesWith(ADMIN_PASSWORD)).toEqual([]);

    redis = await startRedis(port);
    await waitUntil(() => linesWith('Redis reachable again').length >= purposes.length);
    expect(linesWith('Redis reachable again')).toHaveLength(purposes.length);
    expect((await login()).status).toBe(200);
    expect((await clientCredentials()).status).toBe(200);
  }, 90000);
});
