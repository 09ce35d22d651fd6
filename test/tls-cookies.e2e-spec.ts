import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { authorize, codeFrom, pkce, REDIRECT, registerApp } from './harness/oauth';
import { startServerProcess } from './harness/server-process';
import { API, createTestApp, createUser, freshMigratedDatabaseEnv, type TestApp } from './harness/test-app';

interface JarCookie {
  name: string;
  path: string;
  secure: boolean;
  noscript: boolean;
}

/**
 * Served over TLS (a real https listener with a throwaway certificate), every cookie Arbor and its
 * provider set carries the `__Host-` prefix (Secure, Path=/, no Domain) or, for the provider's
 * interaction cookies scoped to their own paths, `__Secure-`; the unprefixed names are not accepted
 * there, so a cookie planted over plain HTTP or from a sibling subdomain cannot stand in for them.
 */
describe('cookies over TLS', () => {
  let dir: string;
  let t: TestApp;
  let server: Server;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbor-tls-'));
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=arbor.test',
      ],
      { stdio: 'ignore' },
    );
    t = await createTestApp({ BASE_URL: 'https://arbor.test' });
    // The app's own request handling (the provider ahead of Express), on a TLS listener.
    server = createServer({ key: readFileSync(key), cert: readFileSync(cert) });
    for (const listener of t.app.getHttpServer().listeners('request')) {
      server.on('request', listener as (...args: unknown[]) => void);
    }
  });
  afterAll(async () => {
    server?.close();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prefixes, secures and requires every cookie of a sign-in and an authorization', async () => {
    const user = await createUser(t);
    const client = await registerApp(t);
    const agent = request.agent(server).disableTLSCerts();
    const setCookies: string[] = [];
    agent.on('response', (res: { headers: Record<string, string[] | undefined> }) =>
      setCookies.push(...(res.headers['set-cookie'] ?? [])),
    );
    const { challenge } = pkce();
    const { location } = await authorize(
      agent,
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
    codeFrom(location);

    const names = new Set(setCookies.map((line) => line.slice(0, line.indexOf('='))));
    for (const name of [
      '__Host-spauthn',
      '__Host-_session',
      '__Secure-_interaction',
      '__Secure-_interaction_resume',
      '__Host-arbor_csrf',
    ]) {
      expect(names).toContain(name);
    }
    for (const line of setCookies) {
      const name = line.slice(0, line.indexOf('='));
      expect(name).toMatch(/^__(Host|Secure)-/);
      expect(line).toMatch(/; secure/i);
      expect(line).toMatch(/; httponly/i);
      if (name.startsWith('__Host-')) {
        expect(line).toMatch(/; path=\/(;|$)/i);
        expect(line).not.toMatch(/; domain=/i);
      }
    }

    // The session key answers under its prefixed name only.
    const jar = (agent as unknown as { jar: { getCookies(access: unknown): JarCookie[] } }).jar;
    const { CookieAccessInfo } = jest.requireActual<{ CookieAccessInfo: { All: unknown } }>('cookiejar');
    const session = jar.getCookies(CookieAccessInfo.All).find((c) => c.name === '__Host-spauthn') as
      (JarCookie & { value: string }) | undefined;
    expect(session).toBeDefined();
    const key = session?.value ?? '';
    const whoAmI = (cookie: string) =>
      request(server).get(`${API}/auth/token/`).disableTLSCerts().set('Cookie', cookie);
    expect((await whoAmI(`__Host-spauthn=${key}`)).status).toBe(200);
    expect((await whoAmI(`spauthn=${key}`)).status).toBe(401);
  });
});

describe('an https BASE_URL without a trusted proxy', () => {
  it('is named at start, since Arbor could not tell its requests came over TLS', async () => {
    const warning = 'BASE_URL is https but TRUST_PROXY is false';
    for (const [trustProxy, warned] of [
      ['false', true],
      ['loopback', false],
    ] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'arbor-tls-start-'));
      const database = await freshMigratedDatabaseEnv();
      const server = await startServerProcess(dir, {
        ...database.env,
        BASE_URL: 'https://arbor.example',
        TRUST_PROXY: trustProxy,
      });
      try {
        if (warned) await server.waitForLog(warning, 5000);
        // Logged in the same turn as "listening", were it logged at all.
        else await new Promise((resolve) => setTimeout(resolve, 500));
        expect(server.logs.filter((line) => line.includes(warning))).toHaveLength(warned ? 1 : 0);
      } finally {
        await server.stop();
        await database.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 90000);
});
