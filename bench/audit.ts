import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { summaryGrams } from '../src/modules/audit/summary-grams';
import {
  API,
  BenchServer,
  buildServer,
  envNumber,
  loginToken,
  percentile,
  postJson,
  rng,
  round1,
  runBuiltCli,
  startBenchMariaDb,
  verdict,
} from './harness';

/**
 * Scenario `audit`, two parts.
 * 1. Write cost: the same user PATCHes against two servers on their own SQLite files, one recording
 *    audit entries and one with AUDIT_ENABLED=false (the benchmark-only switch), in alternating rounds
 *    so machine drift hits both. Target: audited throughput >= 0.85 x unaudited.
 * 2. Reads: `log/` filters over AUDIT_BENCH_ROWS (default 1M) entries bulk-loaded into MariaDB with
 *    multi-row INSERTs (about 2,000 actors, 180 days, the contract's subjects; InnoDB buffer pool
 *    AUDIT_BENCH_BUFFER_POOL, default 1G). Target: p95 < 200 ms
 *    for every query shape (count + page, as the API answers).
 */

const TARGET_RATIO = 0.85;
const TARGET_P95_MS = 200;
/** Subject, weight, and the summary's wording (as the services write them: verb, name, uid). */
const SUBJECTS = [
  ['user_update', 30, '修改用户'],
  ['ucenter_login', 30, '登录'],
  ['ucenter_login_failed', 6, '登录失败'],
  ['user_create', 8, '创建用户'],
  ['dept_member', 8, '调整部门成员'],
  ['group_member', 6, '调整组成员'],
  ['perm_assign', 5, '授权'],
  ['dept_create', 2, '创建部门'],
  ['dept_move', 1, '移动部门'],
  ['app_update', 2, '修改应用'],
  ['app_delete', 1, '删除应用'],
  ['user_delete', 1, '删除用户'],
] as const;

async function patchRound(
  server: BenchServer,
  token: string,
  seconds: number,
  concurrency: number,
): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let seq = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      seq += 1;
      const res = await fetch(`${server.base}${API}/user/benchuser/`, {
        method: 'PATCH',
        headers: {
          authorization: `Token ${token}`,
          'content-type': 'application/json',
          'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0 Safari/537.36',
        },
        body: JSON.stringify({ remark: `r${seq}`, position: `p${seq % 7}` }),
      });
      if (res.status !== 200) throw new Error(`PATCH: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / seconds;
}

async function writeCost(): Promise<{ ratio: number; audited: number; unaudited: number }> {
  const seconds = envNumber('AUDIT_BENCH_ROUND_S', 3, false);
  const rounds = envNumber('AUDIT_BENCH_ROUNDS', 7, true);
  const concurrency = envNumber('AUDIT_BENCH_CONCURRENCY', 8, true);
  const on = new BenchServer({ AUDIT_ENABLED: 'true' });
  const off = new BenchServer({ AUDIT_ENABLED: 'false' });
  try {
    const tokens: string[] = [];
    for (const server of [on, off]) {
      await server.start();
      const token = await loginToken(server.base, 'admin', server.adminPassword);
      await postJson(`${server.base}${API}/user/`, { user: { username: 'benchuser', name: 'Bench' } }, token);
      tokens.push(token);
      await patchRound(server, token, 1, concurrency); // warm-up
    }
    const rates = { on: [] as number[], off: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      rates.off.push(await patchRound(off, tokens[1], seconds, concurrency));
      rates.on.push(await patchRound(on, tokens[0], seconds, concurrency));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const audited = median(rates.on);
    const unaudited = median(rates.off);
    // Each round pairs an unaudited run with the audited run right after it; the median pair ratio
    // shrugs off a load spike from elsewhere on the machine, which a ratio of means does not.
    const ratio = median(rates.on.map((on, i) => on / rates.off[i]));
    console.log(
      `PATCH user/ (SQLite, ${concurrency} in flight, ${rounds}x${seconds}s each, medians): audited ` +
        `${round1(audited)}/s, audit off ${round1(unaudited)}/s, rounds on ${rates.on.map(round1).join(' ')} / off ${rates.off.map(round1).join(' ')}`,
    );
    return { ratio, audited, unaudited };
  } finally {
    await on.dispose();
    await off.dispose();
  }
}

async function bulkLoad(url: string, rows: number): Promise<void> {
  const conn = await createConnection({ uri: url.replace(/^mariadb:/, 'mysql:'), timezone: 'Z' });
  try {
    const random = rng(42);
    const actors = Array.from({ length: 2000 }, (_, i) => ({
      username: `user${String(i).padStart(4, '0')}`,
      name: `员工${i}`,
    }));
    actors.push({ username: 'admin', name: 'admin' });
    await conn.query('INSERT INTO audit_actors (username, name) VALUES ?', [
      actors.map((a) => [a.username, a.name]),
    ]);
    const weights = SUBJECTS.reduce((sum, [, w]) => sum + w, 0);
    const pick = (): (typeof SUBJECTS)[number] => {
      let r = random() * weights;
      for (const entry of SUBJECTS) if ((r -= entry[1]) < 0) return entry;
      return SUBJECTS[0];
    };
    const spanMs = 180 * 24 * 3600 * 1000;
    const start = Date.now() - spanMs;
    const batch = 2000;
    const started = performance.now();
    for (let done = 0; done < rows; done += batch) {
      const values: unknown[][] = [];
      for (let i = done; i < Math.min(rows, done + batch); i++) {
        const actor = random() < 0.3 ? actors[actors.length - 1] : actors[Math.floor(random() * 2000)];
        const target = Math.floor(random() * 100_000);
        const [subject, , verb] = pick();
        values.push([
          randomUUID().replace(/-/g, ''),
          new Date(start + (spanMs * i) / rows),
          subject,
          `${verb} 员工${target} (u${target})`,
          actor.username === 'admin' ? 1 : 2 + Number(actor.username.slice(4)),
          actor.username,
          actor.name,
          target,
          subject.startsWith('dept') ? target % 5000 : null,
          null,
          `10.0.${target % 256}.${i % 256}`,
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0 Safari/537.36',
          'Windows 10',
          'Chrome 120.0.0.0',
          'PATCH',
          `/siteapi/v1/user/u${target}/`,
          '{"remark":"x"}',
          randomUUID(),
        ]);
      }
      await conn.query(
        'INSERT INTO audit_log (uuid, created_at, subject, summary, actor_user_id, actor_username, actor_name, ' +
          'target_user_id, target_node_id, target_app_id, ip, user_agent, os, browser, method, path, body, request_id) VALUES ?',
        [values],
      );
      // The summary search index, as AuditRepository.insert writes it.
      const [ids] = await conn.query<RowDataPacket[]>('SELECT id, uuid FROM audit_log WHERE uuid IN (?)', [
        values.map((v) => v[0]),
      ]);
      const idOf = new Map(ids.map((r) => [r.uuid as string, Number(r.id)]));
      const grams = values.flatMap((v) =>
        summaryGrams(v[3] as string).map((g) => [idOf.get(v[0] as string), g]),
      );
      await conn.query('INSERT INTO audit_log_grams (log_id, gram) VALUES ?', [grams]);
      if ((done / batch) % 50 === 0) process.stderr.write(`\rloaded ${done} rows`);
    }
    await conn.query('ANALYZE TABLE audit_log, audit_log_grams');
    console.log(
      `loaded ${rows} entries in ${round1((performance.now() - started) / 1000)} s (multi-row INSERTs of ${batch})`,
    );
  } finally {
    await conn.end();
  }
}

async function readCost(): Promise<{ p95: number; shapes: Record<string, number> }> {
  const rows = envNumber('AUDIT_BENCH_ROWS', 1_000_000, true);
  const repeats = envNumber('AUDIT_BENCH_REPEATS', 20, true);
  // A 1M-entry log with its search index is about 2.5 GB on disk; the pool is sized like a small
  // production server's (the test default of 64 MB would make every candidate check a disk read).
  const db = await startBenchMariaDb('arbor_bench_audit', process.env.AUDIT_BENCH_BUFFER_POOL ?? '1G');
  const server = new BenchServer({}, { databaseUrl: db.url });
  try {
    runBuiltCli(['migrate'], db.url);
    await bulkLoad(db.url, rows);
    await server.start();
    const token = await loginToken(server.base, 'admin', server.adminPassword);
    const week = new Date(Date.now() - 30 * 24 * 3600 * 1000);
    const weekEnd = new Date(week.getTime() + 7 * 24 * 3600 * 1000);
    const shapes: Record<string, string> = {
      'newest page': '',
      'page 50': 'page=50',
      'subject (one)': 'subject=perm_assign',
      'subject (a|b)': 'subject=dept_create|app_delete',
      'days=0': 'days=0',
      'days=7': 'days=7',
      'time range (a week)': `after_created=${week.toISOString()}&before_created=${weekEnd.toISOString()}`,
      'user (one actor)': 'user=user0042',
      'user (name, 11 actors)': 'user=员工123',
      'summary (one target uid)': 'summary=u12345',
      'summary (CJK name, ~11 targets)': `summary=${encodeURIComponent('员工4242')}`,
      'summary (common verb)': `summary=${encodeURIComponent('删除应用')}`,
      'summary (dense verb)': `summary=${encodeURIComponent('修改用户')}`,
      'summary (absent)': 'summary=zzqx',
      'days=30 + subject + user': 'days=30&subject=user_update|user_create&user=user00',
    };
    const p95s: Record<string, number> = {};
    const all: number[] = [];
    for (const [label, query] of Object.entries(shapes)) {
      const times: number[] = [];
      for (let i = 0; i < repeats + 2; i++) {
        const t0 = performance.now();
        const res = await fetch(`${server.base}${API}/log/?${query}`, {
          headers: { authorization: `Token ${token}` },
        });
        const body = (await res.json()) as { count?: number };
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`log/?${query}: ${res.status} ${JSON.stringify(body)}`);
        if (i >= 2) times.push(ms); // the first two warm the buffer pool
        if (i === 0) process.stderr.write(`${label}: count ${body.count}\n`);
      }
      times.sort((a, b) => a - b);
      p95s[label] = round1(percentile(times, 95));
      all.push(...times);
      console.log(
        `  log/?${query.slice(0, 60).padEnd(60)} p50 ${round1(percentile(times, 50))} ms  p95 ${p95s[label]} ms`,
      );
    }
    all.sort((a, b) => a - b);
    return { p95: round1(percentile(all, 95)), shapes: p95s };
  } finally {
    await server.dispose();
    db.stop();
  }
}

export async function run(): Promise<void> {
  // AUDIT_BENCH_PARTS=writes (or reads) runs one part; both by default.
  const parts = (process.env.AUDIT_BENCH_PARTS ?? 'writes,reads').split(',');
  buildServer();
  const result: Record<string, unknown> = {};
  if (parts.includes('writes')) {
    const writes = await writeCost();
    result.writes = writes;
    console.log(
      `write ratio audited/unaudited: ${writes.ratio.toFixed(3)} (target >= ${TARGET_RATIO}) ${verdict(writes.ratio >= TARGET_RATIO)}`,
    );
  }
  if (parts.includes('reads')) {
    const reads = await readCost();
    result.reads = reads;
    const worst = Math.max(...Object.values(reads.shapes));
    console.log(
      `log/ over MariaDB: p95 of all queries ${reads.p95} ms, worst shape ${worst} ms (target < ${TARGET_P95_MS}) ${verdict(worst < TARGET_P95_MS)}`,
    );
  }
  console.log(`RESULT ${JSON.stringify(result)}`);
}
