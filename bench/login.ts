import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import * as argon2 from 'argon2';
import autocannon from 'autocannon';

/**
 * Scenario `login`: REST password logins per second against the real server (SQLite) beside a bare
 * argon2id verify loop with the same parameters and concurrency, plus the server's idle and peak RSS.
 * Targets: HTTP/bare ratio >= 0.8, p95 < 300 ms, idle RSS < 200 MB.
 */

const ROOT = join(__dirname, '..');
const SERVER_ENTRY = join(ROOT, 'dist', 'main.js');
const LOGIN_PATH = '/siteapi/v1/ucenter/login/';
const BENCH_USER = { username: 'benchuser', name: 'Bench', password: 'Bench-pass-2026' };

// Written out rather than imported from src/, so the baseline is the stated target, not whatever src says.
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

const TARGET_RATIO = 0.8;
const TARGET_P95_MS = 300;
const TARGET_IDLE_RSS_MB = 200;
const STARTUP_TIMEOUT_MS = 60_000;
const SETTLE_MS = 2_000;
const STOP_GRACE_MS = 5_000;

interface Settings {
  concurrency: number;
  durationS: number;
}

interface Summary {
  concurrency: number;
  duration_s: number;
  bare_verifies_per_s: number;
  bare_p95_ms: number;
  http_logins_per_s: number;
  ratio: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  latency_p99_ms: number;
  non_2xx: number;
  connection_errors: number;
  idle_rss_mb: number;
  peak_rss_mb: number;
}

interface HttpLoad {
  result: autocannon.Result;
  /** Latencies of 2xx responses in ms; collected here because autocannon reports no p95. */
  latencies: number[];
}

export async function run(): Promise<void> {
  const settings = readSettings();
  buildServer();
  const dir = mkdtempSync(join(tmpdir(), 'arbor-bench-'));
  let server: ChildProcess | undefined;
  // finally does not run when the process is interrupted or exits early; these handlers do the same, synchronously.
  const removeNow = (): void => {
    if (server && isRunning(server)) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    removeNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', removeNow);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const adminPassword = randomPassword(20);
    server = startServer(dir, port, base, adminPassword);
    const pid = server.pid;
    if (pid === undefined) throw new Error('server process did not start');
    await waitForPing(base, server);
    await sleep(SETTLE_MS);
    const idleRssMb = readMemoryMb(pid, 'VmRSS');

    await createBenchUser(base, adminPassword);
    await checkBenchLogin(base);

    console.log(`bare argon2id verify loop: ${settings.concurrency} workers, ${settings.durationS} s…`);
    const bare = await bareVerifyLoop(settings.concurrency, settings.durationS);

    console.log(`HTTP logins: ${settings.concurrency} connections, ${settings.durationS} s…`);
    const load = await loadLogins(base, settings);
    if (!isRunning(server)) throw new Error('server exited during the load');
    const peakRssMb = readMemoryMb(pid, 'VmHWM');

    printSummary(summarize(settings, bare, load, idleRssMb, peakRssMb));
  } finally {
    if (server) await stopServer(server);
    removeNow();
    process.removeListener('exit', removeNow);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function readSettings(): Settings {
  return {
    concurrency: envNumber('BENCH_CONCURRENCY', 32, true),
    durationS: envNumber('BENCH_DURATION', 15, false),
  };
}

function envNumber(name: string, fallback: number, integer: boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(
      `${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** Always builds: a stale dist/ would measure code that is no longer in src/. */
function buildServer(): void {
  console.log('building the server (npm run build)…');
  // Build output goes to stderr so stdout stays the summary and the RESULT line.
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (build.error) throw build.error;
  if (build.status !== 0) throw new Error(`npm run build failed with exit code ${build.status}`);
  if (!existsSync(SERVER_ENTRY)) throw new Error(`npm run build did not produce ${SERVER_ENTRY}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not find a free port'));
      });
    });
  });
}

/** Letters and digits, and at least one of each, so the server's password policy accepts it. */
function randomPassword(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  for (;;) {
    const password = Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
    if (/[A-Za-z]/.test(password) && /\d/.test(password)) return password;
  }
}

function startServer(dir: string, port: number, base: string, adminPassword: string): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SQLITE_PATH: join(dir, 'arbor.sqlite'),
    PORT: String(port),
    HOST: '127.0.0.1',
    BASE_URL: base,
    ADMIN_PASSWORD: adminPassword,
    LOG_LEVEL: 'warn',
    LOGIN_IP_LIMIT: '100000000',
    LOGIN_LOCKOUT_THRESHOLD: '100',
    NODE_ENV: 'production',
  };
  // The scenario measures the SQLite setup: a developer's MySQL or Redis must not leak in.
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  // cwd is the temp dir so the server's dotenv does not pick up the repository's .env.
  const child = spawn(process.execPath, [SERVER_ENTRY], { cwd: dir, env, stdio: ['ignore', 2, 2] });
  child.on('error', (error) => console.error('server process error:', error));
  return child;
}

/** SIGTERM lets Nest close the database; SIGKILL if it takes longer than the grace period. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function waitForPing(base: string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!isRunning(server)) {
      throw new Error(`server exited during startup (code ${server.exitCode}, signal ${server.signalCode})`);
    }
    try {
      const res = await fetch(`${base}/ping/`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200 && (await res.text()) === 'pong') return;
    } catch {
      // Not listening yet.
    }
    await sleep(200);
  }
  throw new Error(`server did not answer GET /ping/ within ${STARTUP_TIMEOUT_MS / 1000} s`);
}

async function postJson(
  url: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Token ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON: a failed status below reports the raw text; a 2xx leaves json empty for the caller to reject.
  }
  if (res.status < 200 || res.status >= 300) throw new Error(`POST ${url}: ${res.status} ${text}`);
  return { status: res.status, json };
}

async function loginToken(base: string, username: string, password: string): Promise<string> {
  const { status, json } = await postJson(`${base}${LOGIN_PATH}`, { username, password });
  if (status !== 200 || typeof json.token !== 'string') {
    throw new Error(`login as ${username}: expected 200 with a token, got ${status} ${JSON.stringify(json)}`);
  }
  return json.token;
}

async function createBenchUser(base: string, adminPassword: string): Promise<void> {
  const token = await loginToken(base, 'admin', adminPassword);
  const { status, json } = await postJson(`${base}/siteapi/v1/user/`, { user: BENCH_USER }, token);
  if (status !== 201)
    throw new Error(`creating ${BENCH_USER.username}: expected 201, got ${status} ${JSON.stringify(json)}`);
}

/** One login before the load, so wrong credentials fail here instead of as a run of 4xx. */
async function checkBenchLogin(base: string): Promise<void> {
  await loginToken(base, BENCH_USER.username, BENCH_USER.password);
}

/** `concurrency` async workers verifying in a loop, as the server would with as many requests in flight. */
interface BareLoop {
  perSecond: number;
  /** Per-verify latencies in ms: the floor any HTTP login can reach at this concurrency. */
  latencies: number[];
}

export async function bareVerifyLoop(concurrency: number, durationS: number): Promise<BareLoop> {
  const hash = await argon2.hash(BENCH_USER.password, ARGON2_OPTIONS);
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + durationS * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const begun = performance.now();
      if (!(await argon2.verify(hash, BENCH_USER.password))) throw new Error('argon2.verify returned false');
      latencies.push(performance.now() - begun);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { perSecond: latencies.length / ((performance.now() - started) / 1000), latencies };
}

function loadLogins(base: string, settings: Settings): Promise<HttpLoad> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${base}${LOGIN_PATH}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: BENCH_USER.username, password: BENCH_USER.password }),
        connections: settings.concurrency,
        duration: settings.durationS,
      },
      (error: unknown, result: autocannon.Result) => {
        if (error) reject(error instanceof Error ? error : new Error('autocannon failed', { cause: error }));
        else resolve({ result, latencies });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

/** VmRSS is the current resident set; VmHWM its high-water mark since the process started. */
function readMemoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) / 1024;
}

/** Nearest-rank percentile; NaN (null in JSON) when nothing succeeded. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function summarize(
  settings: Settings,
  bare: BareLoop,
  load: HttpLoad,
  idleRssMb: number,
  peakRssMb: number,
): Summary {
  const { result } = load;
  const sorted = [...load.latencies].sort((a, b) => a - b);
  // Only 2xx count as logins; result.duration is the measured wall time in seconds.
  const http = result['2xx'] / result.duration;
  const bareSorted = [...bare.latencies].sort((a, b) => a - b);
  return {
    concurrency: settings.concurrency,
    duration_s: settings.durationS,
    bare_verifies_per_s: round1(bare.perSecond),
    bare_p95_ms: round1(percentile(bareSorted, 95)),
    http_logins_per_s: round1(http),
    ratio: Math.round((http / bare.perSecond) * 100) / 100,
    latency_p50_ms: round1(percentile(sorted, 50)),
    latency_p95_ms: round1(percentile(sorted, 95)),
    latency_p99_ms: round1(percentile(sorted, 99)),
    non_2xx: result.non2xx,
    connection_errors: result.errors,
    idle_rss_mb: round1(idleRssMb),
    peak_rss_mb: round1(peakRssMb),
  };
}

function verdict(ok: boolean): string {
  return ok ? 'ok' : 'MISSED';
}

function printSummary(s: Summary): void {
  console.log(
    [
      '',
      `login: ${s.concurrency} concurrent, ${s.duration_s} s per measurement`,
      `  bare argon2id verifies/s : ${s.bare_verifies_per_s}   (p95 ${s.bare_p95_ms} ms per verify)`,
      `  HTTP logins/s (2xx)      : ${s.http_logins_per_s}`,
      `  ratio HTTP / bare        : ${s.ratio}   target >= ${TARGET_RATIO}   ${verdict(s.ratio >= TARGET_RATIO)}`,
      `  latency p50 / p95 / p99  : ${s.latency_p50_ms} / ${s.latency_p95_ms} / ${s.latency_p99_ms} ms   ` +
        `target p95 < ${TARGET_P95_MS}   ${verdict(s.latency_p95_ms < TARGET_P95_MS)}`,
      `  non-2xx responses        : ${s.non_2xx}   target 0   ${verdict(s.non_2xx === 0)}` +
        `   (connection errors: ${s.connection_errors})`,
      `  server RSS idle          : ${s.idle_rss_mb} MB   target < ${TARGET_IDLE_RSS_MB}   ` +
        verdict(s.idle_rss_mb < TARGET_IDLE_RSS_MB),
      `  server RSS peak (VmHWM)  : ${s.peak_rss_mb} MB`,
    ].join('\n'),
  );
  console.log(`RESULT ${JSON.stringify(s)}`);
}
