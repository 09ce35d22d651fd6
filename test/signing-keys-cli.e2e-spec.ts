import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { DataSource } from 'typeorm';
import { SigningKeysService } from '../src/modules/oidc/signing-keys.service';
import {
  ADMIN_PASSWORD,
  API,
  createTestApp,
  createUser,
  freshDatabaseEnv,
  testDatabaseKind,
  type TestApp,
} from './harness/test-app';
import {
  authorize,
  basic,
  browser,
  codeFrom,
  pkce,
  REDIRECT,
  registerApp,
  type TestClient,
  tokenRequest,
} from './harness/oauth';

const ROOT = join(__dirname, '..');
const ISSUER = 'http://arbor.test/oauth';
const API_AUDIENCE = 'http://arbor.test/siteapi/';
/** The app under test and its CLI share this master key, as every replica of a deployment must. */
const SECRET_KEY = 'signing-keys-test-master-key-0123456789';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

interface KeyRow {
  kid: string;
  alg: string;
  sealed_jwk: string;
  retired_at: unknown;
}

/**
 * The token signing keys: sealed at rest, rotated by `npm run cli -- rotate-signing-key` for real (a
 * child process running src/cli.ts through ts-node on the app's database) while the app serves, with
 * tokens signed before a rotation verifying after it, and retired keys published until their tokens
 * can have expired. Each test has its own app and database.
 */
describe(`signing keys and the rotate-signing-key CLI (${testDatabaseKind()})`, () => {
  let dir: string;
  let t: TestApp | undefined;
  let cliEnv: NodeJS.ProcessEnv;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'arbor-keys-cli-'));
    // Runs the CLI's Clock ahead by ARBOR_TEST_CLOCK_OFFSET_MS, as t.advanceClock does for the app:
    // the CLI then rotates "later", with the app's clock at the same time.
    writeFileSync(
      join(dir, 'clock-offset.js'),
      [
        `const { Clock } = require(${JSON.stringify(join(ROOT, 'src', 'common', 'time', 'clock.ts'))});`,
        'const offset = Number(process.env.ARBOR_TEST_CLOCK_OFFSET_MS || 0);',
        'const now = Clock.prototype.now;',
        'Clock.prototype.now = function () { return new Date(now.call(this).getTime() + offset); };',
        '',
      ].join('\n'),
    );
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A running app on a fresh database, and the CLI's environment for that database. */
  const start = async (): Promise<TestApp> => {
    const database = await freshDatabaseEnv();
    t = await createTestApp({ SECRET_KEY }, { database });
    cliEnv = {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      BASE_URL: 'http://arbor.test',
      ADMIN_PASSWORD,
      SECRET_KEY,
      ...database.env,
      // ts-node looks for tsconfig.json from the working directory; point it at the checkout's.
      TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
    };
    delete cliEnv.REDIS_URL;
    if (!database.env.DATABASE_URL) delete cliEnv.DATABASE_URL;
    return t;
  };

  const cli = (args: string[], env: NodeJS.ProcessEnv = {}, clockOffsetMs = 0): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '-r',
          require.resolve('ts-node/register/transpile-only'),
          '-r',
          join(dir, 'clock-offset.js'),
          join(ROOT, 'src', 'cli.ts'),
          ...args,
        ],
        {
          cwd: dir,
          env: { ...cliEnv, ARBOR_TEST_CLOCK_OFFSET_MS: String(clockOffsetMs), ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  /** `rotate-signing-key`, which must succeed: the new kid and what its output says it retired and deleted. */
  const rotate = async (
    clockOffsetMs = 0,
  ): Promise<{ kid: string; retired: string[]; deleted: string[]; run: Run }> => {
    const run = await cli(['rotate-signing-key'], {}, clockOffsetMs);
    expect(run).toMatchObject({ code: 0 });
    const kid = /^Signing with key (\S+); every replica switches on its next OAuth request\.$/m.exec(
      run.stdout,
    )?.[1];
    expect(kid).toEqual(expect.any(String));
    const list = (label: RegExp) => label.exec(run.stdout)?.[1].split(', ') ?? [];
    return {
      kid: kid as string,
      retired: list(/^Retired \(still published until their tokens expire\): (.+)$/m),
      deleted: list(/^Deleted \(their tokens have expired\): (.+)$/m),
      run,
    };
  };

  const jwks = async (app: TestApp): Promise<JSONWebKeySet> =>
    (await app.http.get('/oauth/oidc/jwks/').expect(200)).body as JSONWebKeySet;
  const kids = async (app: TestApp): Promise<string[]> => (await jwks(app)).keys.map((k) => k.kid as string);
  const rows = (app: TestApp): Promise<KeyRow[]> =>
    app.app
      .get(DataSource)
      .query<KeyRow[]>('SELECT kid, alg, sealed_jwk, retired_at FROM oidc_signing_keys ORDER BY id');
  const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid;

  /**
   * Signed in through the hosted pages: the code's id_token and (opaque) access token, and an Arbor API
   * JWT access token from its refresh token.
   */
  const signIn = async (app: TestApp, client: TestClient) => {
    const user = await createUser(app);
    const { verifier, challenge } = pkce();
    const { location } = await authorize(
      browser(app),
      {
        client_id: client.clientId,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid arbor.read',
        resource: API_AUDIENCE,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      user,
    );
    const code = await tokenRequest(app, client).send({
      grant_type: 'authorization_code',
      redirect_uri: REDIRECT,
      code: codeFrom(location),
      code_verifier: verifier,
    });
    expect(code.status).toBe(200);
    const api = await refresh(app, client, (code.body as Tokens).refresh_token as string);
    const tokens = code.body as Tokens;
    return { user, idToken: tokens.id_token as string, opaque: tokens.access_token, api };
  };
  const refresh = async (app: TestApp, client: TestClient, refreshToken: string): Promise<Tokens> => {
    const res = await tokenRequest(app, client).send({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      resource: API_AUDIENCE,
    });
    expect(res.status).toBe(200);
    return res.body as Tokens;
  };
  const introspect = (app: TestApp, client: TestClient, token: string) =>
    app.http.post('/oauth/introspect/').set('Authorization', basic(client)).type('form').send({ token });
  /** Whether Arbor's REST API takes the JWT (it verifies against the provider's current key set). */
  const apiStatus = async (app: TestApp, jwt: string) =>
    (await app.http.get(`${API}/auth/token/`).set('Authorization', `Bearer ${jwt}`)).status;

  /** No private key material readable in the stored row, in plain text or merely encoded. */
  const expectSealed = (row: KeyRow, publicX: string[]) => {
    const parts = row.sealed_jwk.split('.');
    expect(parts[0]).toBe('v1');
    expect(parts).toHaveLength(4);
    const decoded = parts.map((p) => Buffer.from(p, 'base64url').toString('latin1'));
    for (const text of [JSON.stringify(row), ...decoded]) {
      expect(text).not.toMatch(/"d"\s*:/);
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain('"kty"');
      for (const x of publicX) expect(text).not.toContain(x);
    }
  };

  it('stores the private key sealed under SECRET_KEY, and a process with another key refuses to start', async () => {
    const app = await start();
    const published = await jwks(app);
    expect(published.keys).toHaveLength(1);
    expect(published.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(published.keys[0]).not.toHaveProperty('d');
    const [row] = await rows(app);
    expect(row).toMatchObject({ kid: published.keys[0].kid, alg: 'ES256', retired_at: null });
    expectSealed(row, [published.keys[0].x as string]);

    // The row is useless without the master key: the CLI under another SECRET_KEY cannot load the key set
    // and stops before doing anything.
    const refused = await cli(['rotate-signing-key'], {
      SECRET_KEY: 'another-master-key-0123456789abcdefgh',
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`Signing key ${row.kid} cannot be decrypted`);
    expect(await rows(app)).toEqual([row]);
  }, 120000);

  it('rotates through the CLI while the app serves: both keys published, old tokens valid, new ones on the new key', async () => {
    const app = await start();
    const client = await registerApp(app);
    const [oldKid] = await kids(app);
    const before = await signIn(app, client);
    expect(kidOf(before.idToken)).toBe(oldKid);
    expect(kidOf(before.api.access_token)).toBe(oldKid);

    const { kid: newKid, retired, deleted } = await rotate();
    expect(newKid).not.toBe(oldKid);
    expect(retired).toEqual([oldKid]);
    expect(deleted).toEqual([]);
    // The app switches on its next OAuth request, without a restart: the new key first, the old one after.
    expect(await kids(app)).toEqual([newKid, oldKid]);
    const stored = await rows(app);
    expect(stored.map((r) => [r.kid, r.retired_at === null])).toEqual([
      [oldKid, false],
      [newKid, true],
    ]);
    const keySet = await jwks(app);
    for (const row of stored)
      expectSealed(
        row,
        keySet.keys.map((k) => k.x as string),
      );
    for (const key of keySet.keys) expect(key).not.toHaveProperty('d');

    // Tokens signed before the rotation verify against the published set, and are still good.
    const verifyWith = createLocalJWKSet(keySet);
    await expect(
      jwtVerify(before.idToken, verifyWith, { issuer: ISSUER, audience: client.clientId }),
    ).resolves.toMatchObject({ payload: { sub: String(before.user.body.user_id) } });
    await expect(
      jwtVerify(before.api.access_token, verifyWith, { issuer: ISSUER, audience: API_AUDIENCE }),
    ).resolves.toMatchObject({ protectedHeader: { kid: oldKid } });
    expect(await apiStatus(app, before.api.access_token)).toBe(200);
    const opaque = await introspect(app, client, before.opaque);
    expect([opaque.status, opaque.body]).toEqual([
      200,
      expect.objectContaining({ active: true, sub: String(before.user.body.user_id) }),
    ]);
    // A JWT is checked against the JWKS, not introspected (oidc-provider refuses structured tokens).
    const jwt = await introspect(app, client, before.api.access_token);
    expect([jwt.status, jwt.body.error]).toEqual([400, 'unsupported_token_type']);

    // Tokens issued now are signed with the new key, and verify too.
    const after = await refresh(app, client, before.api.refresh_token as string);
    expect(kidOf(after.access_token)).toBe(newKid);
    expect(kidOf(after.id_token as string)).toBe(newKid);
    await expect(
      jwtVerify(after.access_token, verifyWith, { issuer: ISSUER, audience: API_AUDIENCE }),
    ).resolves.toMatchObject({ protectedHeader: { kid: newKid } });
    expect(await apiStatus(app, after.access_token)).toBe(200);
    const fresh = await signIn(app, client);
    expect(kidOf(fresh.idToken)).toBe(newKid);
  }, 120000);

  it('keeps a retired key until its tokens can have expired; the next rotation after that drops it', async () => {
    const app = await start();
    const client = await registerApp(app);
    const retention = app.app.get(SigningKeysService).retentionMs;
    // The longest JWT lifetime (access token or id_token) and the provider's 15 s clock tolerance.
    const { accessTokenTtlSeconds, idTokenTtlSeconds } = app.config.oidc;
    expect(retention).toBe((Math.max(accessTokenTtlSeconds, idTokenTtlSeconds) + 15) * 1000);
    const [first] = await kids(app);
    const { api } = await signIn(app, client);
    expect(kidOf(api.access_token)).toBe(first);

    const second = await rotate();
    expect(second.retired).toEqual([first]);

    // Short of the retention (with room for the CLI's start-up time), a rotation keeps the first key.
    const early = retention - 5 * 60_000;
    app.advanceClock(early);
    const third = await rotate(early);
    expect(third.retired).toEqual([second.kid]);
    expect(third.deleted).toEqual([]);
    expect(await kids(app)).toEqual([third.kid, second.kid, first]);
    await expect(
      jwtVerify(api.access_token, createLocalJWKSet(await jwks(app)), { issuer: ISSUER }),
    ).resolves.toMatchObject({ protectedHeader: { kid: first } });
    expect(await apiStatus(app, api.access_token)).toBe(200);

    // Past the retention. The key set is reloaded only when a rotation moves its stamp, so until the
    // next rotation the first key is still published.
    app.advanceClock(6 * 60_000);
    expect(await kids(app)).toEqual([third.kid, second.kid, first]);

    // The next rotation deletes it: gone from the JWKS and the table, and what it signed no longer verifies.
    const fourth = await rotate(early + 6 * 60_000);
    expect(fourth.retired).toEqual([third.kid]);
    expect(fourth.deleted).toEqual([first]);
    expect(await kids(app)).toEqual([fourth.kid, third.kid, second.kid]);
    expect((await rows(app)).map((r) => r.kid)).toEqual([second.kid, third.kid, fourth.kid]);
    await expect(
      jwtVerify(api.access_token, createLocalJWKSet(await jwks(app)), { issuer: ISSUER }),
    ).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(await apiStatus(app, api.access_token)).toBe(401);
  }, 180000);
});
