import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as argon2 from 'argon2';
import autocannon from 'autocannon';
import { ARGON2_OPTIONS } from '../src/modules/accounts/password-hasher.service';
import { freePort } from '../test/harness/services';

/**
 * REST password logins per second against the real server (SQLite default) beside a bare argon2id
 * verify loop with the same parameters and concurrency, plus the server's idle and peak RSS.
 * Targets (issue #2): ratio >= 0.8, p95 < 300 ms at 32 concurrent, idle RSS < 200 MB.
 */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 15);
const PASSWORD = 'Bench-pass-2026';

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

async function waitForPing(base: string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`server exited with ${server.exitCode}`);
    try {
      const res = await fetch(`${base}/ping/`);
      if (res.ok && (await res.text()) === 'pong') return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('server did not answer /ping/ within 60 s');
}

async function post(url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Token ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function bareVerifyLoop(): Promise<number> {
  const hash = await argon2.hash(PASSWORD, ARGON2_OPTIONS);
  const end = Date.now() + DURATION_S * 1000;
  let verifies = 0;
  const worker = async () => {
    while (Date.now() < end) {
      await argon2.verify(hash, PASSWORD);
      verifies++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return verifies / ((Date.now() - started) / 1000);
}

export async function run(): Promise<void> {
  console.log('building…');
  execSync('npm run build', { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'arbor-bench-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const adminPassword = `Bench-${randomBytes(8).toString('hex')}`;
  const server = spawn('node', ['dist/main.js'], {
    env: {
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
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitForPing(base, server);
    const pid = server.pid ?? 0;
    const admin = await post(`${base}/siteapi/v1/ucenter/login/`, {
      username: 'admin',
      password: adminPassword,
    });
    await post(
      `${base}/siteapi/v1/user/`,
      { user: { username: 'benchuser', name: 'Bench', password: PASSWORD } },
      String(admin.token),
    );
    await new Promise((r) => setTimeout(r, 2000));
    const idleRss = rssMb(pid, 'VmRSS');

    console.log(`bare argon2id verify loop: ${CONCURRENCY} concurrent, ${DURATION_S} s…`);
    const bare = await bareVerifyLoop();

    console.log(`HTTP logins: ${CONCURRENCY} connections, ${DURATION_S} s…`);
    const result = await autocannon({
      url: `${base}/siteapi/v1/ucenter/login/`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'benchuser', password: PASSWORD }),
      connections: CONCURRENCY,
      duration: DURATION_S,
    });
    const ok = result['2xx'];
    const failed = result.non2xx + result.errors + result.timeouts;
    const http = ok / DURATION_S;
    const peakRss = rssMb(pid, 'VmHWM');
    const summary = {
      concurrency: CONCURRENCY,
      bare_verifies_per_s: Math.round(bare * 10) / 10,
      http_logins_per_s: Math.round(http * 10) / 10,
      ratio: Math.round((http / bare) * 100) / 100,
      p50_ms: result.latency.p50,
      p95_ms: (result.latency as unknown as Record<string, number>).p97_5 ?? result.latency.p99,
      p99_ms: result.latency.p99,
      failed_requests: failed,
      idle_rss_mb: idleRss,
      peak_rss_mb: peakRss,
    };
    console.log(`
bare argon2id verifies/s : ${summary.bare_verifies_per_s}
HTTP logins/s            : ${summary.http_logins_per_s}   (2xx only; failed: ${failed})
ratio                    : ${summary.ratio}   (target >= 0.8)
latency p50 / p97.5 / p99: ${summary.p50_ms} / ${summary.p95_ms} / ${summary.p99_ms} ms   (target p95 < 300)
server RSS idle / peak   : ${idleRss} / ${peakRss} MB   (target idle < 200)`);
    console.log(`RESULT ${JSON.stringify(summary)}`);
  } finally {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
