import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerProcess, startServerProcess } from './harness/server-process';
import { ADMIN_PASSWORD, API, freshMigratedDatabaseEnv, testDatabaseKind } from './harness/test-app';

const LOCKOUT_THRESHOLD = 4;
const IP_LIMIT = 40;
const CLIENT_IP = '203.0.113.7';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Two API processes against one MariaDB and one Redis must behave as one Arbor: whatever one replica
 * learns (failed logins, a revoked token, a permission change, the per-IP login count) the other knows
 * on its very next request. SQLite is one file for one process, so this runs on MariaDB only.
 */
(testDatabaseKind() === 'mariadb' ? describe : describe.skip)(
  'two API replicas on one MariaDB and Redis',
  () => {
    let dir: string;
    let drop: () => Promise<void>;
    let a: ServerProcess;
    let b: ServerProcess;
    let adminToken: string;
    let logins = 0;

    const call = async (
      server: ServerProcess,
      method: string,
      path: string,
      body?: object,
      token?: string,
    ): Promise<Answer> => {
      if (path.endsWith('/ucenter/login/')) logins += 1;
      const res = await fetch(`${server.url}${API}${path}`, {
        method,
        headers: {
          'Content-Type': 'application/json',
          // As a proxy in front of both replicas would say; this file's own client address, so other
          // suites sharing the harness's Redis do not count against its per-IP limit.
          'X-Forwarded-For': CLIENT_IP,
          ...(token ? { Authorization: `Token ${token}` } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    const login = (server: ServerProcess, username: string, password: string) =>
      call(server, 'POST', '/ucenter/login/', { username, password });
    let seq = 0;
    const createUser = async () => {
      const username = `replica${process.pid % 1000}u${++seq}`;
      const password = `Pass-${seq}-replica`;
      const res = await call(
        a,
        'POST',
        '/user/',
        { user: { username, name: username, password } },
        adminToken,
      );
      expect(res.status).toBe(201);
      return { username, password };
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'arbor-replicas-'));
      const database = await freshMigratedDatabaseEnv();
      drop = database.drop;
      const env = {
        ...database.env,
        REDIS_URL: process.env.ARBOR_TEST_REDIS_URL ?? '',
        LOGIN_LOCKOUT_THRESHOLD: String(LOCKOUT_THRESHOLD),
        LOGIN_FREE_FAILURES: '100',
        LOGIN_IP_LIMIT: String(IP_LIMIT),
        LOGIN_IP_WINDOW_SECONDS: '600',
        TRUST_PROXY: 'loopback',
      };
      // One after the other: the first creates the initial admin, the second finds it.
      a = await startServerProcess(dir, env);
      b = await startServerProcess(dir, env);
      const admin = await login(a, 'admin', ADMIN_PASSWORD);
      expect(admin.status).toBe(200);
      adminToken = admin.body.token as string;
    }, 180000);

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await drop?.();
      rmSync(dir, { recursive: true, force: true });
    });

    it('counts failed logins across replicas and locks the account on both', async () => {
      const user = await createUser();
      for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
        expect((await login(i % 2 === 0 ? a : b, user.username, 'Wrong-pass-1')).status).toBe(400);
      }
      for (const server of [a, b]) {
        const refused = await login(server, user.username, user.password);
        expect(refused.status).toBe(429);
        expect(refused.body.detail).toMatch(/Too many failed login attempts/);
      }
      // An unlock on one replica is seen by the other.
      expect((await call(b, 'POST', `/user/${user.username}/unlock/`, {}, adminToken)).status).toBe(200);
      expect((await login(a, user.username, user.password)).status).toBe(200);
    });

    it('ends a token on both replicas when one revokes it', async () => {
      const user = await createUser();
      const token = (await login(a, user.username, user.password)).body.token as string;
      expect((await call(b, 'GET', '/auth/token/', undefined, token)).status).toBe(200);
      expect((await call(b, 'POST', '/revoke/token/', {}, token)).status).toBe(200);
      expect((await call(a, 'GET', '/auth/token/', undefined, token)).status).toBe(401);
      expect((await call(b, 'GET', '/auth/token/', undefined, token)).status).toBe(401);
    });

    it('ends an access token on the other replica at once when one revokes it', async () => {
      const app = await call(
        a,
        'POST',
        '/app/',
        {
          name: `replicaoauth${process.pid % 1000}`,
          oauth_app: { redirect_uris: 'https://rp.replica.example/cb' },
        },
        adminToken,
      );
      expect(app.status).toBe(201);
      const client = app.body.oauth_app as { client_id: string; client_secret: string };
      const basic = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
      const oauth = (server: ServerProcess, endpoint: string, fields: Record<string, string>) =>
        fetch(`${server.url}/oauth/${endpoint}/`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic },
          body: new URLSearchParams(fields).toString(),
        });
      const issued = await oauth(a, 'token', { grant_type: 'client_credentials' });
      expect(issued.status).toBe(200);
      const token = ((await issued.json()) as { access_token: string }).access_token;
      const active = async (server: ServerProcess) =>
        ((await (await oauth(server, 'introspect', { token })).json()) as { active: boolean }).active;
      // Twice: the second answer comes from what b keeps of the lookup while Redis tracks the key.
      expect(await active(b)).toBe(true);
      expect(await active(b)).toBe(true);
      expect((await oauth(a, 'revoke_token', { token })).status).toBe(200);
      expect(await active(b)).toBe(false);
      expect(await active(a)).toBe(false);
    });

    it('sees a permission change made on one replica on the next request to the other', async () => {
      const app = await call(a, 'POST', '/app/', { name: `replicaapp${process.pid % 1000}` }, adminToken);
      expect(app.status).toBe(201);
      const perm = `app_${app.body.uid as string}_access`;
      const user = await createUser();
      const token = (await login(b, user.username, user.password)).body.token as string;
      const check = (server: ServerProcess) =>
        call(server, 'GET', `/auth/token/?perm_uid=${perm}`, undefined, token);
      // Both replicas have decided once, so both hold a snapshot that the change must invalidate.
      expect((await check(a)).status).toBe(403);
      expect((await check(b)).status).toBe(403);
      const assign = (server: ServerProcess, status: number) =>
        call(
          server,
          'PATCH',
          `/perm/${perm}/owner/`,
          { user_perm_status: [{ uid: user.username, status }] },
          adminToken,
        );
      expect((await assign(a, 1)).status).toBe(200);
      expect((await check(b)).status).toBe(200);
      expect((await assign(b, -1)).status).toBe(200);
      expect((await check(a)).status).toBe(403);
    });

    it('shares the per-IP login limit through Redis', async () => {
      // Every login request of this file counts, on either replica; a new unknown name
      // each time, so no per-account lock answers first.
      let refusedAt = 0;
      for (let i = 0; refusedAt === 0 && logins < IP_LIMIT + 5; i++) {
        const res = await login(i % 2 === 0 ? a : b, `nosuchreplica${i}`, 'Wrong-pass-1');
        if (res.status === 429) refusedAt = logins;
      }
      expect(refusedAt).toBe(IP_LIMIT + 1);
      expect((await login(a, 'admin', ADMIN_PASSWORD)).status).toBe(429);
      expect((await login(b, 'admin', ADMIN_PASSWORD)).status).toBe(429);
    });
  },
);
