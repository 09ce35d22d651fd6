import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import {
  API,
  BenchServer,
  buildServer,
  envNumber,
  loginToken,
  percentile,
  postJson,
  ROOT,
  round1,
  verdict,
  ticksOf,
} from './harness';

/**
 * Scenario `login`: REST password logins per second against the real server (SQLite) beside a bare
 * argon2id verify loop with the same parameters and concurrency, plus the server's idle and peak RSS.
 * argon2 runs on libuv's threadpool, so the pool size decides how the hashing shares the cores: each
 * pool size is measured with its own server and its own baseline (a separate process with the same
 * UV_THREADPOOL_SIZE, so neither side is favoured). Per pool size it also reports where the server's CPU
 * went per login: its main thread (HTTP, validation, database, response) versus its other threads
 * (argon2 on the pool, GC), and what the load generator used.
 * Targets: HTTP/bare ratio >= 0.8, p95 < 300 ms, idle RSS < 200 MB.
 * BENCH_CONCURRENCY (32), BENCH_DURATION (s per measurement, 15), BENCH_THREADPOOL_SIZES (comma-separated,
 * default "4,<cores>": Node's default pool and one thread per core), BENCH_QUIET_WAIT (s to wait for other
 * processes to go quiet before each measurement, 120).
 */

const LOGIN_PATH = `${API}/ucenter/login/`;
const BENCH_USER = { username: 'benchuser', name: 'Bench', password: 'Bench-pass-2026' };
const ARGON2_LOOP = join(ROOT, 'bench', 'argon2-loop.ts');

const TARGET_RATIO = 0.8;
const TARGET_P95_MS = 300;
const TARGET_IDLE_RSS_MB = 200;
const SETTLE_MS = 2_000;
/** Linux USER_HZ: the unit of /proc CPU times. */
const CLOCK_TICKS = 100;
/** Node's libuv threadpool size when UV_THREADPOOL_SIZE is not set. */
const NODE_DEFAULT_POOL = 4;
/** Other processes using more than this many cores during a measurement make its figures suspect. */
const DISTURBED_CORES = 0.25;

interface Settings {
  concurrency: number;
  durationS: number;
  poolSizes: number[];
  quietWaitS: number;
}

interface Summary {
  threadpool_size: number;
  concurrency: number;
  duration_s: number;
  bare_verifies_per_s: number;
  bare_p95_ms: number;
  bare_cores: { loop: number; others: number };
  http_logins_per_s: number;
  ratio: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  latency_p99_ms: number;
  non_2xx: number;
  connection_errors: number;
  /** Server CPU per login, ms: main thread vs every other thread (argon2 on the pool, GC). */
  server_main_cpu_ms_per_login: number;
  server_other_cpu_ms_per_login: number;
  /**
   * CPU per bare verify over CPU per HTTP login (server and load generator): what the throughput ratio
   * comes to when both sides have the cores to themselves, and far less sensitive to other processes.
   */
  cpu_ratio: number;
  /** Cores used during the HTTP load: server main thread, server other threads, this process (autocannon). */
  cores: { server_main: number; server_other: number; bench: number; others: number };
  idle_rss_mb: number;
  peak_rss_mb: number;
  /** Seconds waited for other processes to go quiet before the baseline and before the load. */
  quiet_wait_s: number[];
}

interface HttpLoad {
  result: autocannon.Result;
  /** Latencies of 2xx responses in ms; collected here because autocannon reports no p95. */
  latencies: number[];
  cpu: CpuUse;
}

interface BareLoop {
  perSecond: number;
  /** Per-verify latencies in ms: the floor any HTTP login can reach at this concurrency. */
  latencies: number[];
  /** Cores the loop's process used, and what every other process on the machine used meanwhile. */
  cores: number;
  others: number;
}

export async function run(): Promise<void> {
  const settings = readSettings();
  buildServer();
  const summaries: Summary[] = [];
  for (const poolSize of settings.poolSizes) summaries.push(await measure(settings, poolSize));
  for (const s of summaries) printSummary(s);
  console.log(`RESULT ${JSON.stringify(summaries.length === 1 ? summaries[0] : summaries)}`);
}

async function measure(settings: Settings, poolSize: number): Promise<Summary> {
  const server = new BenchServer({
    LOGIN_IP_LIMIT: '100000000',
    LOGIN_LOCKOUT_THRESHOLD: '100',
    UV_THREADPOOL_SIZE: String(poolSize),
  });
  try {
    await server.start();
    await sleep(SETTLE_MS);
    const idleRssMb = server.memoryMb('VmRSS');

    await createBenchUser(server.base, server.adminPassword);
    await checkBenchLogin(server.base);

    console.log(
      `threadpool ${poolSize}: bare argon2id verify loop, ${settings.concurrency} workers, ${settings.durationS} s…`,
    );
    const waitedS = [await waitForQuiet(server.pid, settings.quietWaitS)];
    const bare = await bareVerifyLoop(settings.concurrency, settings.durationS, poolSize);

    console.log(
      `threadpool ${poolSize}: HTTP logins, ${settings.concurrency} connections, ${settings.durationS} s…`,
    );
    waitedS.push(await waitForQuiet(server.pid, settings.quietWaitS));
    const load = await loadLogins(server, settings);
    if (!server.running) throw new Error('server exited during the load');
    const peakRssMb = server.memoryMb('VmHWM');
    return { ...summarize(settings, poolSize, bare, load, idleRssMb, peakRssMb), quiet_wait_s: waitedS };
  } finally {
    await server.dispose();
  }
}

function readSettings(): Settings {
  const raw = process.env.BENCH_THREADPOOL_SIZES;
  const poolSizes =
    raw === undefined || raw === ''
      ? [...new Set([NODE_DEFAULT_POOL, availableParallelism()])]
      : raw.split(',').map((part) => {
          const size = Number(part.trim());
          if (!Number.isInteger(size) || size <= 0 || size > 1024) {
            throw new Error(`BENCH_THREADPOOL_SIZES must list positive integers, got ${JSON.stringify(raw)}`);
          }
          return size;
        });
  return {
    concurrency: envNumber('BENCH_CONCURRENCY', 32, true),
    durationS: envNumber('BENCH_DURATION', 15, false),
    poolSizes,
    quietWaitS: envNumber('BENCH_QUIET_WAIT', 120, false),
  };
}

async function createBenchUser(base: string, adminPassword: string): Promise<void> {
  const token = await loginToken(base, 'admin', adminPassword);
  const { status, json } = await postJson(`${base}${API}/user/`, { user: BENCH_USER }, token);
  if (status !== 201)
    throw new Error(`creating ${BENCH_USER.username}: expected 201, got ${status} ${JSON.stringify(json)}`);
}

/** One login before the load, so wrong credentials fail here instead of as a run of 4xx. */
async function checkBenchLogin(base: string): Promise<void> {
  await loginToken(base, BENCH_USER.username, BENCH_USER.password);
}

/** The baseline in its own process (bench/argon2-loop.ts) with the server's threadpool size. */
function bareVerifyLoop(concurrency: number, durationS: number, poolSize: number): Promise<BareLoop> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', ARGON2_LOOP, String(concurrency), String(durationS)],
      {
        cwd: ROOT,
        env: { ...process.env, UV_THREADPOOL_SIZE: String(poolSize) },
        stdio: ['ignore', 'pipe', 2],
      },
    );
    let output = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`argon2 verify loop exited with code ${code}`));
        return;
      }
      try {
        resolve(JSON.parse(output) as BareLoop);
      } catch (error) {
        reject(new Error(`argon2 verify loop printed no result: ${output.slice(0, 200)}`, { cause: error }));
      }
    });
  });
}

function loadLogins(server: BenchServer, settings: Settings): Promise<HttpLoad> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const before = cpuSample(server.pid);
    const instance = autocannon(
      {
        url: `${server.base}${LOGIN_PATH}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: BENCH_USER.username, password: BENCH_USER.password }),
        connections: settings.concurrency,
        duration: settings.durationS,
      },
      (error: unknown, result: autocannon.Result) => {
        if (error) reject(error instanceof Error ? error : new Error('autocannon failed', { cause: error }));
        else resolve({ result, latencies, cpu: cpuUse(before, cpuSample(server.pid)) });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

// ---- CPU accounting per thread, from /proc ----

interface CpuSample {
  at: number;
  busy: number;
  serverMain: number;
  serverAll: number;
  self: number;
}

interface CpuUse {
  seconds: number;
  serverMain: number;
  serverOther: number;
  bench: number;
  others: number;
}

function cpuSample(serverPid: number): CpuSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  let serverAll = 0;
  for (const tid of readdirSync(`/proc/${serverPid}/task`)) {
    try {
      serverAll += ticksOf(`/proc/${serverPid}/task/${tid}/stat`);
    } catch {
      // The thread ended between listing and reading; its time is in the process total no longer read here.
    }
  }
  return {
    at: performance.now(),
    busy: user + nice + system + irq + softirq + steal,
    // The main thread's id is the process id.
    serverMain: ticksOf(`/proc/${serverPid}/task/${serverPid}/stat`),
    serverAll,
    self: ticksOf('/proc/self/stat'),
  };
}

function cpuUse(from: CpuSample, to: CpuSample): CpuUse {
  const seconds = (to.at - from.at) / 1000;
  const cores = (ticks: number) => ticks / CLOCK_TICKS / seconds;
  const serverMain = cores(to.serverMain - from.serverMain);
  const serverOther = cores(to.serverAll - from.serverAll) - serverMain;
  const bench = cores(to.self - from.self);
  return {
    seconds,
    serverMain,
    serverOther,
    bench,
    others: Math.max(0, cores(to.busy - from.busy) - serverMain - serverOther - bench),
  };
}

/**
 * Other engineers run tests on the same cores: waits (up to `maxS`) until other processes have used less
 * than DISTURBED_CORES for two consecutive seconds. Returns the seconds waited; a measurement that starts
 * disturbed anyway is flagged by its own CPU accounting.
 */
async function waitForQuiet(serverPid: number, maxS: number): Promise<number> {
  const started = performance.now();
  let quiet = 0;
  while ((performance.now() - started) / 1000 < maxS && quiet < 2) {
    const before = cpuSample(serverPid);
    await sleep(1000);
    const use = cpuUse(before, cpuSample(serverPid));
    quiet = use.others < DISTURBED_CORES ? quiet + 1 : 0;
  }
  return Math.round((performance.now() - started) / 1000);
}

function summarize(
  settings: Settings,
  poolSize: number,
  bare: BareLoop,
  load: HttpLoad,
  idleRssMb: number,
  peakRssMb: number,
): Omit<Summary, 'quiet_wait_s'> {
  const { result, cpu } = load;
  const sorted = [...load.latencies].sort((a, b) => a - b);
  // Only 2xx count as logins; result.duration is the measured wall time in seconds.
  const http = result['2xx'] / result.duration;
  const bareSorted = [...bare.latencies].sort((a, b) => a - b);
  const perLogin = (coresUsed: number) => round1((coresUsed * 1000) / Math.max(http, 1e-9));
  const two = (value: number) => Math.round(value * 100) / 100;
  return {
    threadpool_size: poolSize,
    concurrency: settings.concurrency,
    duration_s: settings.durationS,
    bare_verifies_per_s: round1(bare.perSecond),
    bare_p95_ms: round1(percentile(bareSorted, 95)),
    bare_cores: { loop: two(bare.cores), others: two(bare.others) },
    http_logins_per_s: round1(http),
    ratio: two(http / bare.perSecond),
    latency_p50_ms: round1(percentile(sorted, 50)),
    latency_p95_ms: round1(percentile(sorted, 95)),
    latency_p99_ms: round1(percentile(sorted, 99)),
    non_2xx: result.non2xx,
    connection_errors: result.errors,
    server_main_cpu_ms_per_login: perLogin(cpu.serverMain),
    server_other_cpu_ms_per_login: perLogin(cpu.serverOther),
    cpu_ratio: two(
      bare.cores / bare.perSecond / ((cpu.serverMain + cpu.serverOther + cpu.bench) / Math.max(http, 1e-9)),
    ),
    cores: {
      server_main: two(cpu.serverMain),
      server_other: two(cpu.serverOther),
      bench: two(cpu.bench),
      others: two(cpu.others),
    },
    idle_rss_mb: round1(idleRssMb),
    peak_rss_mb: round1(peakRssMb),
  };
}

function printSummary(s: Summary): void {
  const pool =
    s.threadpool_size === NODE_DEFAULT_POOL
      ? `${s.threadpool_size} (Node's default)`
      : `${s.threadpool_size}`;
  console.log(
    [
      '',
      `login: UV_THREADPOOL_SIZE ${pool}, ${s.concurrency} concurrent, ${s.duration_s} s per measurement`,
      `  bare argon2id verifies/s : ${s.bare_verifies_per_s}   (p95 ${s.bare_p95_ms} ms per verify; cores: loop ` +
        `${s.bare_cores.loop}, other processes ${s.bare_cores.others}` +
        `${s.bare_cores.others > DISTURBED_CORES ? '   DISTURBED' : ''})`,
      `  HTTP logins/s (2xx)      : ${s.http_logins_per_s}`,
      `  ratio HTTP / bare        : ${s.ratio}   target >= ${TARGET_RATIO}   ${verdict(s.ratio >= TARGET_RATIO)}`,
      `  latency p50 / p95 / p99  : ${s.latency_p50_ms} / ${s.latency_p95_ms} / ${s.latency_p99_ms} ms   ` +
        `target p95 < ${TARGET_P95_MS}   ${verdict(s.latency_p95_ms < TARGET_P95_MS)}`,
      `  non-2xx responses        : ${s.non_2xx}   target 0   ${verdict(s.non_2xx === 0)}` +
        `   (connection errors: ${s.connection_errors})`,
      `  server CPU per login     : main thread ${s.server_main_cpu_ms_per_login} ms, other threads ` +
        `(argon2, GC) ${s.server_other_cpu_ms_per_login} ms; CPU ratio (bare verify / HTTP login) ${s.cpu_ratio}`,
      `  cores during the load    : server main ${s.cores.server_main}, server other ${s.cores.server_other}, ` +
        `bench (autocannon) ${s.cores.bench}, other processes ${s.cores.others}` +
        (s.cores.others > DISTURBED_CORES ? '   DISTURBED' : '') +
        `   (waited for a quiet machine ${s.quiet_wait_s.join(' / ')} s)`,
      `  server RSS idle          : ${s.idle_rss_mb} MB   target < ${TARGET_IDLE_RSS_MB}   ` +
        verdict(s.idle_rss_mb < TARGET_IDLE_RSS_MB),
      `  server RSS peak (VmHWM)  : ${s.peak_rss_mb} MB`,
    ].join('\n'),
  );
}
