import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { FakeDingTalk, seedDirectory } from '../test/harness/dingtalk-fake';
import { startRedis, stopService } from '../test/harness/services';
import {
  API,
  benchTempDir,
  buildServer,
  cleanupOnExit,
  envNumber,
  loginToken,
  ROOT,
  round1,
  verdict,
} from './harness';

/**
 * `npm run bench -- dingsync`: a full DingTalk pull of DINGSYNC_USERS users (10 000) in DINGSYNC_DEPTS
 * departments (1 000) from the loopback DingTalk, through the real API and worker processes on Redis
 * and SQLite, then a repeat pull with no upstream change. Baseline: the bare request budget, requests
 * ÷ DINGTALK_MAX_RPS, which no client that respects the limit can beat. Targets (issue 8): full pull
 * under 120 s, never over 20 requests/s, a repeat pull with 0 writes, peak worker RSS under 300 MB.
 */

interface TaskResult {
  status: number;
  status_raw: string;
  failure: string | null;
  progress: { stage: string; done: number; total: number };
  error_count: number;
  result: {
    writes: number;
    requests: number;
    peak_requests_per_second: number;
    users: Record<string, number>;
    departments: Record<string, number>;
  } | null;
}

function spawnProcess(
  entry: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  ready: string,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'dist', entry)], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 2],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (line.includes(ready)) resolve(child);
      if (line.includes('"level":50') || line.includes('"level":60'))
        process.stderr.write(`${entry}: ${line}\n`);
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code} before "${ready}"`)));
  });
}

function peakRssMb(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

export async function run(): Promise<void> {
  const users = envNumber('DINGSYNC_USERS', 10000, true);
  const depts = envNumber('DINGSYNC_DEPTS', 1000, true);
  const maxRps = envNumber('DINGSYNC_MAX_RPS', 20, true);
  buildServer();
  const fake = new FakeDingTalk();
  fake.qpsLimit = maxRps;
  seedDirectory(fake, depts, users);
  const base = await fake.start();
  const redis = await startRedis();
  const stopRedis = cleanupOnExit(() => stopService(redis));
  const dir = benchTempDir('arbor-bench-dingsync-');
  const sqlitePath = join(dir.path, 'arbor.sqlite');
  const adminPassword = `Bench-${Date.now()}-pass`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    SQLITE_PATH: sqlitePath,
    REDIS_URL: redis.url,
    ADMIN_PASSWORD: adminPassword,
    HOST: '127.0.0.1',
    DINGTALK_API_BASE: base,
    DINGTALK_NEW_API_BASE: base,
    DINGTALK_APP_KEY: fake.appKey,
    DINGTALK_APP_SECRET: fake.appSecret,
    DINGTALK_MAX_RPS: String(maxRps),
  };
  const port = 20000 + Math.floor(Math.random() * 20000);
  const api = await spawnProcess(
    'main.js',
    { ...env, PORT: String(port), BASE_URL: `http://127.0.0.1:${port}` },
    dir.path,
    'Arbor is listening',
  );
  const worker = await spawnProcess('worker.js', env, dir.path, 'Arbor worker is running');
  try {
    const url = `http://127.0.0.1:${port}`;
    const token = await loginToken(url, 'admin', adminPassword);
    const pull = async (label: string): Promise<{ seconds: number; task: TaskResult }> => {
      const started = Date.now();
      const ticket = await fetch(`${url}${API}/task/import/ding/`, {
        method: 'POST',
        headers: { Authorization: `Token ${token}` },
      });
      const { task_id: taskId } = (await ticket.json()) as { task_id: string };
      let lastStage = '';
      for (;;) {
        const res = await fetch(`${url}${API}/task/${taskId}/result/`, {
          headers: { Authorization: `Token ${token}` },
        });
        const task = (await res.json()) as TaskResult;
        if (task.progress.stage !== lastStage) {
          lastStage = task.progress.stage;
          console.error(`  ${label}: ${lastStage} (${round1((Date.now() - started) / 1000)} s)`);
        }
        if (task.status === 3) throw new Error(`${label} failed: ${task.failure}`);
        if (task.status === 4) return { seconds: (Date.now() - started) / 1000, task };
        await sleep(500);
      }
    };
    console.log(
      `dingsync: ${users} users in ${depts} departments, DINGTALK_MAX_RPS=${maxRps}, SQLite, Redis + worker process`,
    );
    fake.log.length = 0;
    const full = await pull('full pull');
    const fullServerPeak = fake.peakPerSecond();
    fake.log.length = 0;
    const repeat = await pull('repeat pull');
    const repeatServerPeak = fake.peakPerSecond();
    const rss = peakRssMb(worker.pid as number);
    const apiRss = peakRssMb(api.pid as number);
    const db = new Database(sqlitePath, { readonly: true });
    const synced = (db.prepare('SELECT COUNT(*) AS n FROM ding_users').get() as { n: number }).n;
    db.close();

    const r = full.task.result;
    const budget = (r?.requests ?? 0) / maxRps;
    console.log('');
    console.log(
      `full pull:    ${round1(full.seconds)} s, ${r?.requests} requests, ${r?.writes} writes, ${r?.users.create} users created, ${r?.departments.create} departments created, ${full.task.error_count} record errors`,
    );
    console.log(
      `              baseline (requests / max rate): ${round1(budget)} s; ratio ${round1(full.seconds / budget)}x`,
    );
    console.log(
      `              peak requests/s: ${r?.peak_requests_per_second} sent, ${fullServerPeak} at DingTalk`,
    );
    console.log(
      `repeat pull:  ${round1(repeat.seconds)} s, ${repeat.task.result?.requests} requests, ${repeat.task.result?.writes} writes, peak ${repeat.task.result?.peak_requests_per_second}/s sent, ${repeatServerPeak}/s at DingTalk`,
    );
    console.log(`mapped users: ${synced}`);
    console.log(`peak RSS:     worker ${round1(rss)} MB, API ${round1(apiRss)} MB`);
    console.log('');
    console.log(`target full pull < 120 s:            ${verdict(full.seconds < 120)}`);
    console.log(
      `target never over ${maxRps} requests/s:     ${verdict((r?.peak_requests_per_second ?? Infinity) <= maxRps && (repeat.task.result?.peak_requests_per_second ?? Infinity) <= maxRps)}`,
    );
    console.log(`target repeat pull with 0 writes:    ${verdict(repeat.task.result?.writes === 0)}`);
    console.log(`target peak worker RSS < 300 MB:     ${verdict(rss < 300)}`);
    console.log(
      `RESULT ${JSON.stringify({
        scenario: 'dingsync',
        users,
        departments: depts,
        full_pull_s: round1(full.seconds),
        baseline_s: round1(budget),
        ratio: round1(full.seconds / budget),
        requests: r?.requests,
        peak_rps_sent: r?.peak_requests_per_second,
        peak_rps_at_dingtalk: fullServerPeak,
        repeat_pull_s: round1(repeat.seconds),
        repeat_writes: repeat.task.result?.writes,
        worker_peak_rss_mb: round1(rss),
      })}`,
    );
  } finally {
    await stopProcess(worker);
    await stopProcess(api);
    await fake.stop();
    stopRedis();
    dir.remove();
  }
}
