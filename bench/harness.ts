import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection } from 'mysql2/promise';
import { startMariaDb, startRedis, stopService } from '../test/harness/services';

/**
 * What every scenario needs: a freshly built server on its own SQLite file (or a MariaDB database),
 * started and stopped for real.
 */

export const ROOT = join(__dirname, '..');
const SERVER_ENTRY = join(ROOT, 'dist', 'main.js');
const CLI_ENTRY = join(ROOT, 'dist', 'cli.js');
const STARTUP_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
export const API = '/siteapi/v1';

export function envNumber(name: string, fallback: number, integer: boolean): number {
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
export function buildServer(): void {
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

/** Deterministic, so every run measures the same data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export interface BenchServerOptions {
  /** Serve this MySQL/MariaDB database (migrated beforehand, see runBuiltCli) instead of the SQLite file. */
  databaseUrl?: string;
  /** Keep the provider's state (and the queues) in this Redis instead of the database. */
  redisUrl?: string;
  /** Receives each line the server writes to stdout (its JSON log) instead of the bench's stderr. */
  onStdoutLine?: (line: string) => void;
}

/**
 * A temporary directory holding the SQLite file, and the server process started on it. The directory
 * and the process are removed on stop, on exit and on SIGINT/SIGTERM, also when a scenario fails.
 */
export class BenchServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'arbor-bench-'));
  readonly sqlitePath = join(this.dir, 'arbor.sqlite');
  readonly adminPassword = randomPassword(20);
  base = '';
  private child: ChildProcess | undefined;
  private readonly removeNow = (): void => {
    if (this.child && isRunning(this.child)) this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  };
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.removeNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  constructor(
    private readonly extraEnv: Record<string, string> = {},
    private readonly options: BenchServerOptions = {},
  ) {
    process.once('exit', this.removeNow);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  get pid(): number {
    if (this.child?.pid === undefined) throw new Error('server is not running');
    return this.child.pid;
  }

  get running(): boolean {
    return this.child !== undefined && isRunning(this.child);
  }

  async start(): Promise<void> {
    const port = await freePort();
    this.base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SQLITE_PATH: this.sqlitePath,
      PORT: String(port),
      HOST: '127.0.0.1',
      BASE_URL: this.base,
      ADMIN_PASSWORD: this.adminPassword,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      ...this.extraEnv,
    };
    // A developer's MySQL or Redis must not leak in: the database is the scenario's choice.
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
    if (this.options.databaseUrl !== undefined) env.DATABASE_URL = this.options.databaseUrl;
    if (this.options.redisUrl !== undefined) env.REDIS_URL = this.options.redisUrl;
    // cwd is the temp dir so the server's dotenv does not pick up the repository's .env.
    // BENCH_NODE_ARGS passes flags to the server's node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const onLine = this.options.onStdoutLine;
    this.child = spawn(process.execPath, [...nodeArgs, SERVER_ENTRY], {
      cwd: this.dir,
      env,
      stdio: ['ignore', onLine ? 'pipe' : 2, 2],
    });
    this.child.on('error', (error) => console.error('server process error:', error));
    if (onLine && this.child.stdout) createInterface({ input: this.child.stdout }).on('line', onLine);
    await this.waitForPing();
  }

  /** SIGTERM lets Nest close the database; SIGKILL if it takes longer than the grace period. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !isRunning(child)) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.removeNow();
    process.removeListener('exit', this.removeNow);
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
  }

  /** VmRSS is the current resident set; VmHWM its high-water mark since the process started. */
  memoryMb(field: 'VmRSS' | 'VmHWM'): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
    if (kb === undefined) throw new Error(`no ${field} in /proc/${this.pid}/status`);
    return Number(kb) / 1024;
  }

  private async waitForPing(): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const child = this.child;
      if (!child || !isRunning(child)) {
        throw new Error(
          `server exited during startup (code ${child?.exitCode}, signal ${child?.signalCode})`,
        );
      }
      try {
        const res = await fetch(`${this.base}/ping/`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200 && (await res.text()) === 'pong') return;
      } catch {
        // Not listening yet.
      }
      await sleep(200);
    }
    throw new Error(`server did not answer GET /ping/ within ${STARTUP_TIMEOUT_MS / 1000} s`);
  }
}

/** Runs the built admin CLI (`dist/cli.js`) against `databaseUrl`, e.g. `migrate`; fails on a non-zero exit. */
export function runBuiltCli(args: string[], databaseUrl: string): void {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' };
  delete env.REDIS_URL;
  const run = spawnSync(process.execPath, [CLI_ENTRY, ...args], {
    cwd: tmpdir(),
    env,
    stdio: ['ignore', 2, 2],
  });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`cli ${args.join(' ')} failed with exit code ${run.status}`);
}

/**
 * Runs `cleanup` when the bench exits, also on SIGINT/SIGTERM; returns a function that runs it now and
 * unregisters it. For what a scenario starts beside its BenchServer (a database server, a directory).
 */
export function cleanupOnExit(cleanup: () => void): () => void {
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    cleanup();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    once();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', once);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    once();
    process.removeListener('exit', once);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
}

/** A temporary directory, removed by `remove()` or when the bench exits. */
export function benchTempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: cleanupOnExit(() => rmSync(path, { recursive: true, force: true })) };
}

/**
 * A throwaway MariaDB server (the test harness's startMariaDb, from the installed package) with one
 * empty database, stopped and removed by `stop()` or when the bench exits.
 */
export async function startBenchMariaDb(
  database: string,
  bufferPool?: string,
): Promise<{ serverUrl: string; url: string; database: string; stop: () => void }> {
  const service = await startMariaDb(bufferPool);
  const stop = cleanupOnExit(() => stopService(service));
  try {
    const admin = await createConnection(service.url.replace(/^mariadb:/, 'mysql:'));
    await admin.query(`CREATE DATABASE ${database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.end();
  } catch (error) {
    stop();
    throw error;
  }
  return { serverUrl: service.url, url: `${service.url}/${database}`, database, stop };
}

/** A throwaway redis-server (the test harness's startRedis) on a loopback port, stopped by `stop()` or at exit. */
export async function startBenchRedis(): Promise<{ url: string; stop: () => void }> {
  const service = await startRedis();
  return { url: service.url, stop: cleanupOnExit(() => stopService(service)) };
}

export async function postJson(
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

export async function loginToken(base: string, username: string, password: string): Promise<string> {
  const { status, json } = await postJson(`${base}${API}/ucenter/login/`, { username, password });
  if (status !== 200 || typeof json.token !== 'string') {
    throw new Error(`login as ${username}: expected 200 with a token, got ${status} ${JSON.stringify(json)}`);
  }
  return json.token;
}

/** Nearest-rank percentile; NaN (null in JSON) when nothing was measured. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

export function verdict(ok: boolean): string {
  return ok ? 'ok' : 'MISSED';
}

/** CPU ticks (user + system) of a process or thread from its `/proc/.../stat` line. */
export function ticksOf(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 11 and 12 after the command name.
  return Number(fields[11]) + Number(fields[12]);
}
