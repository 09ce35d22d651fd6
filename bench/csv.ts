import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, openAsBlob, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import {
  API,
  BenchServer,
  benchTempDir,
  buildServer,
  envNumber,
  loginToken,
  rng,
  round1,
  runBuiltCli,
  startBenchMariaDb,
  verdict,
} from './harness';

/**
 * Scenario `csv`: a CSV file of 100k users (no passwords; Chinese names, work and private emails,
 * mobiles, quoted fields) imported over HTTP into an empty database, on SQLite and on MariaDB, beside
 * the bare cost of the same work: csv-parse of the same file and batched INSERTs of its rows into a
 * scratch copy of the users table. Then the same file again, which must write nothing.
 * Targets on each database: import < 60 s, peak server RSS < 512 MB, rows/s of the last 10% of the
 * writes >= 0.8 x the first 10%, and the second import writes nothing.
 */

const TARGET_IMPORT_S = 60;
const TARGET_PEAK_RSS_MB = 512;
const TARGET_RATE_RATIO = 0.8;
const BASELINE_BATCH = 500;
const IMPORT_PATH = `${API}/migration/user/csv/import/`;
const COLUMNS = [
  'username',
  'name',
  'email',
  'private_email',
  'mobile',
  'gender',
  'avatar',
  'position',
  'employee_number',
] as const;

type DatabaseKind = 'sqlite' | 'mariadb';

// ---- the file ----

// prettier-ignore
const SURNAMES: [string, string][] = [
  ['王', 'wang'], ['李', 'li'], ['张', 'zhang'], ['刘', 'liu'], ['陈', 'chen'], ['杨', 'yang'],
  ['黄', 'huang'], ['赵', 'zhao'], ['吴', 'wu'], ['周', 'zhou'], ['徐', 'xu'], ['孙', 'sun'],
  ['马', 'ma'], ['朱', 'zhu'], ['胡', 'hu'], ['郭', 'guo'], ['何', 'he'], ['高', 'gao'],
  ['林', 'lin'], ['罗', 'luo'], ['郑', 'zheng'], ['梁', 'liang'], ['谢', 'xie'], ['宋', 'song'],
  ['唐', 'tang'], ['韩', 'han'], ['冯', 'feng'], ['邓', 'deng'], ['曹', 'cao'], ['彭', 'peng'],
  ['欧阳', 'ouyang'], ['司马', 'sima'],
];
// prettier-ignore
const GIVEN: [string, string][] = [
  ['伟', 'wei'], ['芳', 'fang'], ['娜', 'na'], ['敏', 'min'], ['静', 'jing'], ['丽', 'li'],
  ['强', 'qiang'], ['磊', 'lei'], ['军', 'jun'], ['洋', 'yang'], ['勇', 'yong'], ['艳', 'yan'],
  ['杰', 'jie'], ['涛', 'tao'], ['明', 'ming'], ['超', 'chao'], ['秀', 'xiu'], ['霞', 'xia'],
  ['平', 'ping'], ['刚', 'gang'], ['桂', 'gui'], ['英', 'ying'], ['华', 'hua'], ['玉', 'yu'],
  ['建', 'jian'], ['国', 'guo'], ['晓', 'xiao'], ['鹏', 'peng'], ['婷', 'ting'], ['雪', 'xue'],
  ['思', 'si'], ['宇', 'yu'], ['子', 'zi'], ['轩', 'xuan'], ['欣', 'xin'], ['怡', 'yi'],
];
const POSITIONS = [
  '软件工程师',
  '高级工程师, 后端',
  '产品经理',
  '销售代表, 华东区',
  '财务专员',
  '人力资源 BP',
  '测试工程师',
  '运维工程师, SRE',
  '设计师',
  '客户成功经理',
  '部门经理 "代理"',
  '',
];
const MOBILE_PREFIXES = ['138', '139', '150', '158', '177', '186', '188', '199'];
const MAIL_DOMAINS = ['example.com', 'example.cn', 'mail.example.net'];

/** Writes the file with csv-stringify (quoting fields with commas, quotes or newlines); returns its size. */
async function writeCsv(path: string, users: number): Promise<{ bytes: number; quotedRows: number }> {
  const random = rng(20260101);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  let quotedRows = 0;
  function* rows(): Generator<string[]> {
    yield [...COLUMNS];
    for (let i = 1; i <= users; i++) {
      const [surname, surnamePinyin] = pick(SURNAMES);
      const given = Array.from({ length: random() < 0.7 ? 2 : 1 }, () => pick(GIVEN));
      let name = surname + given.map(([c]) => c).join('');
      if (random() < 0.01) name = `${name} (${surnamePinyin}, 外包)`;
      // Pinyin of the name plus the row number, so usernames are unique and look like real ones.
      const username = `${surnamePinyin}${given.map(([, p]) => p[0]).join('')}${i}`;
      const mobile =
        random() < 0.85
          ? random() < 0.02
            ? `+852 6${String(i).padStart(7, '0')}`
            : `${MOBILE_PREFIXES[i % MOBILE_PREFIXES.length]}${String(i).padStart(8, '0')}`
          : '';
      const position = pick(POSITIONS);
      if (position.includes(',') || position.includes('"') || name.includes(',')) quotedRows++;
      yield [
        username,
        name,
        `${username}@corp.example.com`,
        random() < 0.6 ? `${surnamePinyin}.${i}@${pick(MAIL_DOMAINS)}` : '',
        mobile,
        String(Math.floor(random() * 3)),
        '',
        position,
        `E${String(i).padStart(6, '0')}`,
      ];
    }
  }
  await pipeline(rows(), stringify({ record_delimiter: 'windows', bom: true }), createWriteStream(path));
  return { bytes: statSync(path).size, quotedRows };
}

// ---- the databases, seen from the bench ----

interface BenchDatabase {
  kind: DatabaseKind;
  /** SHA-256 over every users row (all columns, updated_at included) in id order. */
  usersDigest(): Promise<{ rows: number; sha256: string }>;
  /**
   * Moves whenever the server commits a write anywhere in the database: SQLite's `PRAGMA data_version`
   * (seen from this connection); MariaDB's row writes, updates and deletes (Handler_*, server-wide).
   */
  writeCounter(): Promise<number>;
  /** The bare work: csv-parse the file, INSERT its rows in batches in one transaction into a scratch table. */
  baseline(csvPath: string): Promise<{ ms: number; rows: number }>;
  close(): Promise<void>;
}

/** The file's rows as the columns store them: trimmed, emails lowercased, empty unique cells NULL. */
async function* parsedBatches(csvPath: string): AsyncGenerator<unknown[][]> {
  const parser = createReadStream(csvPath).pipe(parse({ bom: true, from_line: 2 }));
  let batch: unknown[][] = [];
  for await (const record of parser as AsyncIterable<string[]>) {
    const cells = record.map((cell) => cell.trim());
    batch.push([
      cells[0],
      cells[1],
      cells[2].toLowerCase(),
      cells[3] === '' ? null : cells[3].toLowerCase(),
      cells[4] === '' ? null : cells[4],
      Number(cells[5]),
      cells[6],
      cells[7],
      cells[8],
    ]);
    if (batch.length === BASELINE_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function digestRows(rows: Record<string, unknown>[]): { rows: number; sha256: string } {
  const hash = createHash('sha256');
  for (const row of rows) hash.update(JSON.stringify(row)).update('\n');
  return { rows: rows.length, sha256: hash.digest('hex') };
}

function sqliteDatabase(path: string, scratchDir: string): BenchDatabase {
  const db = new Database(path);
  return {
    kind: 'sqlite',
    usersDigest: () =>
      Promise.resolve(digestRows(db.prepare('SELECT * FROM users ORDER BY id').all() as never[])),
    writeCounter: () => Promise.resolve(Number(db.pragma('data_version', { simple: true }))),
    async baseline(csvPath) {
      const scratch = new Database(join(scratchDir, 'baseline.sqlite'));
      scratch.pragma('journal_mode = WAL');
      scratch.pragma('synchronous = NORMAL');
      // The users table exactly as the migrations made it, indexes included.
      const ddl = db
        .prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'users' AND sql IS NOT NULL")
        .all() as { sql: string }[];
      for (const { sql } of ddl) scratch.exec(sql);
      const insert = (size: number) =>
        scratch.prepare(
          `INSERT INTO users (${COLUMNS.join(', ')}, origin) VALUES ${Array(size)
            .fill(`(${COLUMNS.map(() => '?').join(', ')}, 0)`)
            .join(', ')}`,
        );
      const full = insert(BASELINE_BATCH);
      const started = performance.now();
      let rows = 0;
      scratch.exec('BEGIN');
      for await (const batch of parsedBatches(csvPath)) {
        (batch.length === BASELINE_BATCH ? full : insert(batch.length)).run(batch.flat());
        rows += batch.length;
      }
      scratch.exec('COMMIT');
      const ms = performance.now() - started;
      scratch.close();
      return { ms, rows };
    },
    close: () => Promise.resolve(void db.close()),
  };
}

async function mariaDbDatabase(serverUrl: string, database: string): Promise<BenchDatabase> {
  const mysqlUrl = serverUrl.replace(/^mariadb:/, 'mysql:');
  const conn = await createConnection(`${mysqlUrl}/${database}`);
  return {
    kind: 'mariadb',
    async usersDigest() {
      const [rows] = await conn.query<RowDataPacket[]>('SELECT * FROM users ORDER BY id');
      return digestRows(rows);
    },
    async writeCounter() {
      const [rows] = await conn.query<RowDataPacket[]>(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_write', 'Handler_update', 'Handler_delete')",
      );
      return rows.reduce((sum, row) => sum + Number(row.Value), 0);
    },
    async baseline(csvPath) {
      const scratchName = `${database}_baseline`;
      await conn.query(`CREATE DATABASE ${scratchName} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      let scratch: Connection | undefined;
      try {
        await conn.query(`CREATE TABLE ${scratchName}.users LIKE ${database}.users`);
        scratch = await createConnection(`${mysqlUrl}/${scratchName}`);
        const started = performance.now();
        let rows = 0;
        await scratch.beginTransaction();
        for await (const batch of parsedBatches(csvPath)) {
          await scratch.query(`INSERT INTO users (${COLUMNS.join(', ')}, origin) VALUES ?`, [
            batch.map((row) => [...row, 0]),
          ]);
          rows += batch.length;
        }
        await scratch.commit();
        return { ms: performance.now() - started, rows };
      } finally {
        await scratch?.end();
        await conn.query(`DROP DATABASE IF EXISTS ${scratchName}`);
      }
    },
    close: () => conn.end(),
  };
}

// ---- the import, over HTTP ----

interface ImportResponse {
  dry_run: boolean;
  total: number;
  created: string[];
  updated: string[];
  unchanged: number;
}

async function importOverHttp(
  base: string,
  token: string,
  csvPath: string,
): Promise<{ ms: number; startedAt: number; body: ImportResponse }> {
  const form = new FormData();
  form.append('users', await openAsBlob(csvPath, { type: 'text/csv' }), 'users.csv');
  const startedAt = Date.now();
  const started = performance.now();
  const res = await fetch(`${base}${IMPORT_PATH}`, {
    method: 'POST',
    headers: { authorization: `Token ${token}` },
    body: form,
  });
  const text = await res.text();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`POST ${IMPORT_PATH}: ${res.status} ${text.slice(0, 2000)}`);
  return { ms, startedAt, body: JSON.parse(text) as ImportResponse };
}

/** The server's debug line after each written batch: when it was written and how many rows were done. */
interface ProgressPoint {
  at: number;
  done: number;
}

/**
 * Rows per second over the first and the last tenth of the write pass, from the server's own
 * per-batch timestamps. Both windows run between two batch completions, so neither includes the
 * check pass or the response.
 */
function rates(points: ProgressPoint[], total: number): { first: number; last: number } {
  if (points.length < 4) throw new Error(`only ${points.length} progress lines: too few to compare rates`);
  const tenth = total / 10;
  const start = points[0];
  const firstEnd = points.find((p) => p.done - start.done >= tenth) ?? points[points.length - 1];
  const end = points[points.length - 1];
  const lastStart = [...points].reverse().find((p) => end.done - p.done >= tenth) ?? start;
  const perSecond = (a: ProgressPoint, b: ProgressPoint) => ((b.done - a.done) / (b.at - a.at)) * 1000;
  return { first: perSecond(start, firstEnd), last: perSecond(lastStart, end) };
}

interface DatabaseResult {
  database: DatabaseKind;
  baseline_s: number;
  import_s: number;
  ratio_to_baseline: number;
  /** Upload, check pass and the first batch: from the request to the first progress line. */
  until_first_batch_s: number;
  write_pass_s: number;
  first_tenth_rows_per_s: number;
  last_tenth_rows_per_s: number;
  rate_ratio: number;
  peak_rss_mb: number;
  reimport_s: number;
  reimport_created: number;
  reimport_updated: number;
  reimport_unchanged: number;
  reimport_users_digest_same: boolean;
  first_import_write_counter_delta: number;
  reimport_write_counter_delta: number;
  zero_writes: boolean;
}

const seconds = (ms: number): number => Math.round(ms / 10) / 100;

async function measureOn(kind: DatabaseKind, csvPath: string, users: number): Promise<DatabaseResult> {
  console.log(`\n[${kind}] preparing an empty database…`);
  const progress: ProgressPoint[] = [];
  const onStdoutLine = (line: string): void => {
    let entry: { msg?: string; time?: string; done?: number; level?: number };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      process.stderr.write(`${line}\n`);
      return;
    }
    if (entry.msg === 'csv import progress' && entry.time && entry.done !== undefined) {
      progress.push({ at: Date.parse(entry.time), done: entry.done });
    } else if ((entry.level ?? 0) >= 40) process.stderr.write(`${line}\n`);
  };
  // LOG_LEVEL=debug for the per-batch progress lines; they are parsed here, not printed.
  const env = { LOG_LEVEL: 'debug' };
  const mariadb = kind === 'mariadb' ? await startBenchMariaDb('arbor_bench') : undefined;
  let server: BenchServer | undefined;
  let db: BenchDatabase | undefined;
  try {
    if (mariadb) {
      runBuiltCli(['migrate'], mariadb.url);
      server = new BenchServer(env, { databaseUrl: mariadb.url, onStdoutLine });
    } else {
      server = new BenchServer(env, { onStdoutLine });
    }
    // SQLite migrates itself at the first start.
    await server.start();
    db = mariadb
      ? await mariaDbDatabase(mariadb.serverUrl, mariadb.database)
      : sqliteDatabase(server.sqlitePath, server.dir);

    console.log(`[${kind}] baseline: csv-parse + batched INSERTs of ${users} rows into a scratch table…`);
    const baseline = await db.baseline(csvPath);
    if (baseline.rows !== users) throw new Error(`baseline inserted ${baseline.rows} rows, not ${users}`);

    console.log(`[${kind}] import over HTTP…`);
    const token = await loginToken(server.base, 'admin', server.adminPassword);
    const counterAtStart = await db.writeCounter();
    const first = await importOverHttp(server.base, token, csvPath);
    // The same counter must see the first import's writes, or its silence below would prove nothing.
    const firstCounterDelta = (await db.writeCounter()) - counterAtStart;
    if (firstCounterDelta <= 0)
      throw new Error(`the ${kind} write counter did not move during the first import`);
    if (first.body.created.length !== users || first.body.total !== users) {
      throw new Error(
        `first import: expected ${users} created, got ${first.body.created.length} of ${first.body.total}`,
      );
    }
    if (!server.running) throw new Error('server exited during the import');
    const peakRssMb = server.memoryMb('VmHWM');
    const points = progress.splice(0);
    const { first: firstRate, last: lastRate } = rates(points, users);

    console.log(`[${kind}] the same file again…`);
    const before = await db.usersDigest();
    // A fresh token right before, so the request does not refresh the token's last use either.
    const token2 = await loginToken(server.base, 'admin', server.adminPassword);
    const countBefore = await db.writeCounter();
    const second = await importOverHttp(server.base, token2, csvPath);
    const counterDelta = (await db.writeCounter()) - countBefore;
    const after = await db.usersDigest();
    const digestSame = before.sha256 === after.sha256 && before.rows === after.rows;
    const zeroWrites =
      second.body.created.length === 0 &&
      second.body.updated.length === 0 &&
      second.body.unchanged === users &&
      digestSame &&
      counterDelta === 0;

    return {
      database: kind,
      baseline_s: seconds(baseline.ms),
      import_s: seconds(first.ms),
      ratio_to_baseline: round1(first.ms / baseline.ms),
      until_first_batch_s: seconds(points[0].at - first.startedAt),
      write_pass_s: seconds(points[points.length - 1].at - points[0].at),
      first_tenth_rows_per_s: Math.round(firstRate),
      last_tenth_rows_per_s: Math.round(lastRate),
      rate_ratio: Math.round((lastRate / firstRate) * 100) / 100,
      peak_rss_mb: round1(peakRssMb),
      reimport_s: seconds(second.ms),
      reimport_created: second.body.created.length,
      reimport_updated: second.body.updated.length,
      reimport_unchanged: second.body.unchanged,
      reimport_users_digest_same: digestSame,
      first_import_write_counter_delta: firstCounterDelta,
      reimport_write_counter_delta: counterDelta,
      zero_writes: zeroWrites,
    };
  } finally {
    await db?.close();
    await server?.dispose();
    mariadb?.stop();
  }
}

function printSummary(users: number, file: { bytes: number; quotedRows: number }, results: DatabaseResult[]) {
  const lines = [
    '',
    `csv: ${users} users, ${round1(file.bytes / 1024 / 1024)} MB, ${file.quotedRows} rows with quoted fields`,
  ];
  for (const r of results) {
    lines.push(
      `  ${r.database}`,
      `    import over HTTP   ${r.import_s} s (until the first written batch ${r.until_first_batch_s} s, then writes ${r.write_pass_s} s)` +
        `   target < ${TARGET_IMPORT_S} s   ${verdict(r.import_s < TARGET_IMPORT_S)}`,
      `    baseline           ${r.baseline_s} s (csv-parse + ${BASELINE_BATCH}-row INSERTs, one transaction)` +
        `   Arbor/baseline ${r.ratio_to_baseline}x`,
      `    write rate         first 10% ${r.first_tenth_rows_per_s} rows/s, last 10% ${r.last_tenth_rows_per_s} rows/s,` +
        ` ratio ${r.rate_ratio}   target >= ${TARGET_RATE_RATIO}   ${verdict(r.rate_ratio >= TARGET_RATE_RATIO)}`,
      `    peak server RSS    ${r.peak_rss_mb} MB (VmHWM)   target < ${TARGET_PEAK_RSS_MB} MB   ` +
        verdict(r.peak_rss_mb < TARGET_PEAK_RSS_MB),
      `    same file again    ${r.reimport_s} s: created ${r.reimport_created}, updated ${r.reimport_updated},` +
        ` unchanged ${r.reimport_unchanged}; users rows digest ${r.reimport_users_digest_same ? 'unchanged' : 'CHANGED'},` +
        ` ${r.database === 'sqlite' ? 'data_version' : 'Handler_write+update+delete'} delta ${r.reimport_write_counter_delta}` +
        ` (first import: ${r.first_import_write_counter_delta})` +
        `   ${verdict(r.zero_writes)}`,
    );
  }
  console.log(lines.join('\n'));
  console.log(`RESULT ${JSON.stringify({ users, file_bytes: file.bytes, results })}`);
}

export async function run(): Promise<void> {
  const users = envNumber('BENCH_CSV_USERS', 100_000, true);
  const databases = (process.env.BENCH_CSV_DATABASES ?? 'sqlite,mariadb').split(',');
  for (const kind of databases) {
    if (kind !== 'sqlite' && kind !== 'mariadb') {
      throw new Error(`BENCH_CSV_DATABASES lists sqlite and/or mariadb, not ${JSON.stringify(kind)}`);
    }
  }
  buildServer();
  const dir = benchTempDir('arbor-bench-csv-');
  try {
    const csvPath = join(dir.path, 'users.csv');
    console.log(`writing ${users} users to a CSV file…`);
    const file = await writeCsv(csvPath, users);
    const results: DatabaseResult[] = [];
    for (const kind of databases as DatabaseKind[]) results.push(await measureOn(kind, csvPath, users));
    printSummary(users, file, results);
  } finally {
    dir.remove();
  }
}
