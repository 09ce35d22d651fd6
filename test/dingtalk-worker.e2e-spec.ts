import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import Database from 'better-sqlite3';
import { AppConfig } from '../src/config/app-config';
import { createDataSource } from '../src/database/data-source';
import { FakeDingTalk, seedDirectory } from './harness/dingtalk-fake';
import { type ServerProcess, startServerProcess } from './harness/server-process';
import { freePort } from './harness/services';
import { ADMIN_PASSWORD, API, freshDatabaseEnv, testDatabaseKind } from './harness/test-app';
import { startWorkerProcess, type WorkerProcess } from './harness/worker-process';

interface TaskResult {
  status: number;
  status_raw: string;
  attempts: number;
  failure: string | null;
  progress: { stage: string; done: number; total: number };
  result: {
    writes: number;
    users: Record<string, number>;
    dry_run: boolean;
    peak_requests_per_second: number;
  } | null;
}

const RPS = 40;
/** Members in DingTalk for the kill and restart tests: six write batches, so a kill lands between them. */
const TOTAL = 1200;
const STAFF = "username LIKE 'staff%' AND deleted_at IS NULL";
const LIVE_STAFF = `SELECT COUNT(*) AS n FROM users WHERE ${STAFF}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A redis-server of this test's own on a fixed port, so it can be killed and started again empty. */
function startRedis(port: number, dir: string): ChildProcess {
  const child = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      if (
        execFileSync('/usr/bin/redis-cli', ['-p', String(port), 'PING'])
          .toString()
          .trim() === 'PONG'
      )
        return child;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    execFileSync('sleep', ['0.1']);
  }
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

/**
 * DingTalk sync through BullMQ: the API process only enqueues, a separate worker process runs the
 * jobs. A pull survives the worker being killed mid-run (it resumes, without duplicates or lost users)
 * and Redis restarting empty (the task rows put the queue back).
 */
describe(`DingTalk sync on the worker process (${testDatabaseKind()})`, () => {
  const fake = new FakeDingTalk();
  let dir: string;
  let drop: () => Promise<void>;
  let env: Record<string, string>;
  let workerMetricsPort = 0;
  let redisPort: number;
  let redis: ChildProcess;
  let api: ServerProcess;
  let worker: WorkerProcess | null = null;
  let token: string;
  let query: (sql: string) => Promise<number>;

  const call = async (
    method: string,
    path: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${api.url}${API}${path}`, {
      method,
      headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json' },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const result = async (taskId: string) =>
    (await call('GET', `/task/${taskId}/result/`)).body as unknown as TaskResult;
  const waitTask = async (taskId: string, timeoutMs = 90000): Promise<TaskResult> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const body = await result(taskId);
      if (body.status === 3 || body.status === 4) return body;
      if (Date.now() > deadline)
        throw new Error(`task still ${body.status_raw}: ${worker?.logs.slice(-20).join('\n')}`);
      await sleep(100);
    }
  };
  const enqueue = async (path: string): Promise<string> => {
    const res = await call('POST', path);
    expect(res.status).toBe(200);
    return res.body.task_id as string;
  };

  beforeAll(async () => {
    fake.qpsLimit = RPS;
    dir = mkdtempSync(join(tmpdir(), 'arbor-ding-worker-'));
    const database = await freshDatabaseEnv();
    drop = database.drop;
    redisPort = await freePort();
    workerMetricsPort = await freePort();
    redis = startRedis(redisPort, dir);
    const base = await fake.start();
    env = {
      ...database.env,
      REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
      DINGTALK_API_BASE: base,
      DINGTALK_NEW_API_BASE: base,
      DINGTALK_APP_KEY: fake.appKey,
      DINGTALK_APP_SECRET: fake.appSecret,
      JOB_LEASE_SECONDS: '3',
      // A higher configured limit than DingTalk's default keeps this suite short; the fake enforces it.
      DINGTALK_MAX_RPS: String(RPS),
      ADMIN_PASSWORD,
      METRICS_ENABLED: 'true',
      WORKER_METRICS_PORT: String(workerMetricsPort),
    };
    const config = AppConfig.fromEnvironment({ NODE_ENV: 'test', ...env });
    if (config.database.kind === 'mysql') {
      const dataSource = createDataSource(config);
      await dataSource.initialize();
      await dataSource.runMigrations();
      await dataSource.destroy();
      query = async (sql) => {
        const conn = await createConnection(
          config.database.kind === 'mysql' ? config.database.url.replace(/^mariadb:/, 'mysql:') : '',
        );
        const [rows] = (await conn.query(sql)) as unknown as [{ n: number }[]];
        await conn.end();
        return Number(rows[0]?.n ?? 0);
      };
    } else {
      const file = database.env.SQLITE_PATH;
      query = (sql) => {
        const db = new Database(file, { readonly: true });
        try {
          return Promise.resolve(Number((db.prepare(sql).get() as { n: number }).n));
        } finally {
          db.close();
        }
      };
    }
    api = await startServerProcess(dir, env);
    worker = await startWorkerProcess(dir, env);
    const login = await fetch(`${api.url}${API}/ucenter/login/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    token = ((await login.json()) as { token: string }).token;
  }, 180000);

  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await api?.stop();
    if (redis) await stopRedis(redis);
    await fake.stop();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the worker runs a dry run and a full pull the API queued; a repeat pull writes nothing', async () => {
    seedDirectory(fake, 30, 120);
    const dry = await waitTask(await enqueue('/task/import/ding/?dry_run=true'));
    expect(dry.status).toBe(4);
    expect(dry.result).toMatchObject({ dry_run: true, writes: 0 });
    expect(dry.result?.users.create).toBe(120);
    expect(await query('SELECT COUNT(*) AS n FROM ding_users')).toBe(0);

    const full = await waitTask(await enqueue('/task/import/ding/'));
    expect(full.status).toBe(4);
    expect(full.result?.users.create).toBe(120);
    expect(await query('SELECT COUNT(*) AS n FROM ding_users')).toBe(120);
    expect(api.logs.some((l) => l.includes('Job started'))).toBe(false);
    expect(worker?.logs.some((l) => l.includes('Job succeeded'))).toBe(true);
    // The job metrics are counted where the job ran, and the worker serves them.
    const scraped = await (await fetch(`http://127.0.0.1:${workerMetricsPort}/metrics`)).text();
    expect(scraped).toMatch(/^arbor_job_runs_total\{job="[^"]+",outcome="success"\} [1-9]/m);
    expect(scraped).toContain('arbor_job_duration_seconds_bucket');

    const again = await waitTask(await enqueue('/task/import/ding/'));
    expect(again.result?.writes).toBe(0);
    // Measured where it is decided: requests Arbor started in any one second (the fake's arrival times
    // also carry this machine's scheduling jitter).
    expect(full.result?.peak_requests_per_second).toBeGreaterThan(RPS / 2);
    expect(full.result?.peak_requests_per_second).toBeLessThanOrEqual(RPS);
    expect(again.result?.peak_requests_per_second).toBeLessThanOrEqual(RPS);
  });

  it('a pull survives killing the worker mid-run: it resumes with no duplicate and no lost user', async () => {
    fake.reset();
    seedDirectory(fake, 80, TOTAL);
    const before = await query('SELECT COUNT(*) AS n FROM ding_users');
    const taskId = await enqueue('/task/import/ding/');
    // Killed while the users are being written: some batches committed, the rest not.
    const deadline = Date.now() + 60000;
    while ((await query('SELECT COUNT(*) AS n FROM ding_users')) === before) {
      expect((await result(taskId)).status).not.toBe(4);
      if (Date.now() > deadline) throw new Error('the pull never started writing');
      await sleep(10);
    }
    await worker?.stop('SIGKILL');
    const atKill = await query('SELECT COUNT(*) AS n FROM ding_users');
    expect(atKill).toBeGreaterThan(before);
    expect(atKill).toBeLessThan(TOTAL);
    expect((await result(taskId)).status).toBe(2);
    worker = await startWorkerProcess(dir, env);
    const done = await waitTask(taskId);
    expect(done.status).toBe(4);
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    // The second attempt starts over and creates exactly the members the first had not written.
    expect(done.result?.users.create).toBe(TOTAL - atKill);
    expect(await query('SELECT COUNT(*) AS n FROM ding_users')).toBe(TOTAL);
    expect(await query('SELECT COUNT(DISTINCT user_id) AS n FROM ding_users')).toBe(TOTAL);
    expect(await query(LIVE_STAFF)).toBe(TOTAL);
    expect(await query(`SELECT COUNT(DISTINCT mobile) AS n FROM users WHERE ${STAFF}`)).toBe(TOTAL);
    // Every mapping points at a live account.
    expect(
      await query(
        'SELECT COUNT(*) AS n FROM ding_users d JOIN users u ON u.id = d.user_id WHERE u.deleted_at IS NULL',
      ),
    ).toBe(TOTAL);
  });

  it('SIGTERM mid-pull: the worker stops within its bound, the task waits (attempt not counted), then resumes', async () => {
    await worker?.stop('SIGKILL');
    worker = await startWorkerProcess(dir, { ...env, SHUTDOWN_TIMEOUT_SECONDS: '4' });
    fake.users.get('staff00002')!.title = '总监';
    const taskId = await enqueue('/task/import/ding/');
    for (let i = 0; i < 300 && (await result(taskId)).status !== 2; i++) await sleep(20);
    const attempts = (await result(taskId)).attempts;
    const stoppedAt = Date.now();
    const exit = await worker.stop('SIGTERM');
    expect(Date.now() - stoppedAt).toBeLessThan(4000);
    expect(exit.code).toBe(0);
    const waiting = await result(taskId);
    expect(waiting.status_raw).toBe('PENDING');
    expect(waiting.attempts).toBe(attempts - 1);
    worker = await startWorkerProcess(dir, env);
    const done = await waitTask(taskId);
    expect(done.status).toBe(4);
    expect(done.result?.users.update).toBe(1);
  });

  it('a Redis restart loses the queue but no task: the running pull finishes, a queued one runs after', async () => {
    fake.users.get('staff00001')!.title = '顾问';
    const pullId = await enqueue('/task/import/ding/');
    // Same lock as the pull: this one waits in Redis's delayed set while the pull runs.
    const pushDryId = await enqueue('/task/override/ding/?dry_run=true');
    for (let i = 0; i < 200 && (await result(pullId)).status !== 2; i++) await sleep(20);
    await stopRedis(redis);
    redis = startRedis(redisPort, dir);
    const pull = await waitTask(pullId);
    expect(pull.status).toBe(4);
    const push = await waitTask(pushDryId);
    expect(push.status).toBe(4);
    expect(push.result?.dry_run).toBe(true);
    expect(await query('SELECT COUNT(*) AS n FROM ding_users')).toBe(TOTAL);
    expect(await query('SELECT COUNT(DISTINCT user_id) AS n FROM ding_users')).toBe(TOTAL);
    expect(await query(LIVE_STAFF)).toBe(TOTAL);
    expect(
      await query("SELECT COUNT(*) AS n FROM users WHERE position = '顾问' AND deleted_at IS NULL"),
    ).toBe(1);
    // The queue works again for new work.
    const after = await waitTask(await enqueue('/task/import/ding/'));
    expect(after.status).toBe(4);
    expect(after.result?.writes).toBe(0);
  });
});
