import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import * as argon2 from 'argon2';
import autocannon from 'autocannon';
import {
  API,
  BenchServer,
  buildServer,
  envNumber,
  loginToken,
  percentile,
  postJson,
  round1,
  verdict,
} from './harness';

/**
 * Scenario `login`: REST password logins per second against the real server (SQLite) beside a bare
 * argon2id verify loop with the same parameters and concurrency, plus the server's idle and peak RSS.
 * Targets: HTTP/bare ratio >= 0.8, p95 < 300 ms, idle RSS < 200 MB.
 */

const LOGIN_PATH = `${API}/ucenter/login/`;
const BENCH_USER = { username: 'benchuser', name: 'Bench', password: 'Bench-pass-2026' };

// Written out rather than imported from src/, so the baseline is the stated target, not whatever src says.
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

const TARGET_RATIO = 0.8;
const TARGET_P95_MS = 300;
const TARGET_IDLE_RSS_MB = 200;
const SETTLE_MS = 2_000;

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
  const server = new BenchServer({ LOGIN_IP_LIMIT: '100000000', LOGIN_LOCKOUT_THRESHOLD: '100' });
  try {
    await server.start();
    await sleep(SETTLE_MS);
    const idleRssMb = server.memoryMb('VmRSS');

    await createBenchUser(server.base, server.adminPassword);
    await checkBenchLogin(server.base);

    console.log(`bare argon2id verify loop: ${settings.concurrency} workers, ${settings.durationS} s…`);
    const bare = await bareVerifyLoop(settings.concurrency, settings.durationS);

    console.log(`HTTP logins: ${settings.concurrency} connections, ${settings.durationS} s…`);
    const load = await loadLogins(server.base, settings);
    if (!server.running) throw new Error('server exited during the load');
    const peakRssMb = server.memoryMb('VmHWM');

    printSummary(summarize(settings, bare, load, idleRssMb, peakRssMb));
  } finally {
    await server.dispose();
  }
}

function readSettings(): Settings {
  return {
    concurrency: envNumber('BENCH_CONCURRENCY', 32, true),
    durationS: envNumber('BENCH_DURATION', 15, false),
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
