import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import {
  API,
  BenchServer,
  buildServer,
  envNumber,
  loginToken,
  percentile,
  rng,
  round1,
  verdict,
} from './harness';

/**
 * Scenario `org`: a 10k-department tree (depth 8 below the root) with 100k users, then subtree
 * listing (`list/`) and trees (`tree/`, with and without members) of the root's largest branch and of a
 * 1k-node subtree over HTTP, beside the raw SQL range query that reads the same subtree.
 * Target: p95 of `list/` for the 1k-node subtree under 50 ms.
 */

const TARGET_LIST_P95_MS = 50;
/** Branch sizes under d_root: the largest, a middle one, and one of exactly 1,000 nodes. */
const BRANCH_SIZES = [6000, 3000, 1000];
const MAX_DEPTH = 8;
const USERS = 100_000;
/** Ids above the seeded built-in nodes (1–7). */
const FIRST_NODE_ID = 100;

interface Measurement {
  name: string;
  requests: number;
  p50: number;
  p95: number;
  p99: number;
  bytes: number;
}

interface Fixture {
  largestBranchUid: string;
  thousandUid: string;
  thousandPath: string;
  nodes: number;
  memberships: number;
}

/**
 * The fixture is written straight into the migrated SQLite file: it is data for the code under test,
 * not the code under test, and building it through the API would take longer than the measurements.
 */
function buildFixture(path: string): Fixture {
  const db = new Database(path);
  const random = rng(2026);
  const insertNode = db.prepare(
    `INSERT INTO org_nodes (id, kind, uid, name, remark, parent_id, path, depth, order_no, top, visibility, builtin, accept_user)
     VALUES (?, 'dept', ?, ?, '', ?, ?, ?, ?, 'dept', 1, 0, 1)`,
  );
  const insertUser = db.prepare('INSERT INTO users (id, username, name) VALUES (?, ?, ?)');
  const insertMembership = db.prepare(
    'INSERT INTO org_memberships (node_id, user_id, order_no) VALUES (?, ?, ?)',
  );
  const names = ['研发', '销售', '市场', 'Support', '财务', 'Ops', '华东', '华北', 'Team', '项目'];
  let nextId = FIRST_NODE_ID;
  const all: { id: number; path: string }[] = [];
  const fixture = { largestBranchUid: '', thousandUid: '', thousandPath: '', nodes: 0, memberships: 0 };

  db.transaction(() => {
    BRANCH_SIZES.forEach((size, branch) => {
      const rootId = nextId++;
      const rootPath = `/1/${rootId}/`;
      insertNode.run(rootId, `b${rootId}`, `分部${branch + 1}`, 1, rootPath, 1, branch + 1);
      all.push({ id: rootId, path: rootPath });
      if (branch === 0) fixture.largestBranchUid = `b${rootId}`;
      if (size === 1000) {
        fixture.thousandUid = `b${rootId}`;
        fixture.thousandPath = rootPath;
      }
      // Grow the branch one node at a time under a random earlier node that is not yet at depth 8,
      // preferring recent ones so the branch reaches full depth.
      const members = [{ id: rootId, path: rootPath, depth: 1, children: 0 }];
      while (members.length < size) {
        const start = Math.max(0, members.length - 50);
        let parent = members[start + Math.floor(random() * (members.length - start))];
        if (parent.depth >= MAX_DEPTH) parent = members[Math.floor(random() * members.length)];
        if (parent.depth >= MAX_DEPTH) continue;
        const id = nextId++;
        const path = `${parent.path}${id}/`;
        parent.children += 1;
        insertNode.run(
          id,
          `b${id}`,
          `${names[id % names.length]}${id}`,
          parent.id,
          path,
          parent.depth + 1,
          parent.children,
        );
        members.push({ id, path, depth: parent.depth + 1, children: 0 });
        all.push({ id, path });
      }
    });
    fixture.nodes = all.length;
    const order = new Map<number, number>();
    for (let user = 1; user <= USERS; user++) {
      const id = 1000 + user;
      insertUser.run(id, `u${String(user).padStart(6, '0')}`, `员工${user}`);
      const count = random() < 0.3 ? 2 : 1;
      const chosen = new Set<number>();
      while (chosen.size < count) chosen.add(all[Math.floor(random() * all.length)].id);
      for (const nodeId of chosen) {
        const next = (order.get(nodeId) ?? 0) + 1;
        order.set(nodeId, next);
        insertMembership.run(nodeId, id, next);
        fixture.memberships += 1;
      }
    }
  })();
  db.close();
  return fixture;
}

/** `concurrency` workers requesting `url` for `durationS` seconds; latencies of 200 answers only. */
async function measure(
  name: string,
  url: string,
  token: string,
  concurrency: number,
  durationS: number,
): Promise<Measurement> {
  const latencies: number[] = [];
  let bytes = 0;
  const deadline = performance.now() + durationS * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const res = await fetch(url, { headers: { authorization: `Token ${token}` } });
      const body = await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${name}: GET ${url} answered ${res.status}`);
      latencies.push(performance.now() - started);
      bytes = body.byteLength;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  latencies.sort((a, b) => a - b);
  return {
    name,
    requests: latencies.length,
    p50: round1(percentile(latencies, 50)),
    p95: round1(percentile(latencies, 95)),
    p99: round1(percentile(latencies, 99)),
    bytes,
  };
}

/** The raw range query the `list/` endpoint stands on, timed in this process against the same file. */
function rawSubtreeQuery(path: string, subtreePath: string, durationS: number): Measurement {
  const db = new Database(path, { readonly: true });
  const statement = db.prepare('SELECT * FROM org_nodes WHERE path >= ? AND path < ?');
  const upper = `${subtreePath.slice(0, -1)}0`;
  const latencies: number[] = [];
  let rows = 0;
  const deadline = performance.now() + durationS * 1000;
  while (performance.now() < deadline) {
    const started = performance.now();
    rows = statement.all(subtreePath, upper).length;
    latencies.push(performance.now() - started);
  }
  db.close();
  latencies.sort((a, b) => a - b);
  return {
    name: `raw SQL subtree (${rows} rows)`,
    requests: latencies.length,
    p50: round1(percentile(latencies, 50)),
    p95: round1(percentile(latencies, 95)),
    p99: round1(percentile(latencies, 99)),
    bytes: 0,
  };
}

export async function run(): Promise<void> {
  const durationS = envNumber('BENCH_DURATION', 10, false);
  const concurrency = envNumber('BENCH_CONCURRENCY', 8, true);
  buildServer();
  const server = new BenchServer();
  try {
    // First start migrates the empty database; the fixture goes in while the server is down.
    await server.start();
    await server.stop();
    console.log(`building the fixture: ${BRANCH_SIZES.reduce((a, b) => a + b)} departments, ${USERS} users…`);
    const fixtureStarted = performance.now();
    const fixture = buildFixture(server.sqlitePath);
    console.log(`fixture built in ${round1((performance.now() - fixtureStarted) / 1000)} s`);
    await server.start();
    const token = await loginToken(server.base, 'admin', server.adminPassword);
    const idleRssMb = server.memoryMb('VmRSS');

    const dept = `${server.base}${API}/dept`;
    const targets: [string, string, number][] = [
      ['list/ of the 1k-node subtree, 1 client', `${dept}/${fixture.thousandUid}/list/`, 1],
      ['list/ of the 1k-node subtree', `${dept}/${fixture.thousandUid}/list/`, concurrency],
      ['list/ of the largest branch', `${dept}/${fixture.largestBranchUid}/list/`, concurrency],
      ['tree/ of the largest branch', `${dept}/${fixture.largestBranchUid}/tree/`, concurrency],
      [
        'tree/?user_required of the largest branch',
        `${dept}/${fixture.largestBranchUid}/tree/?user_required=true`,
        durationS,
      ],
    ];
    const results: Measurement[] = [];
    for (const [name, url, clients] of targets) {
      await measure(`${name} (warm-up)`, url, token, 1, 1);
      console.log(`${name}: ${clients} concurrent, ${durationS} s…`);
      results.push(await measure(name, url, token, clients, durationS));
      if (!server.running) throw new Error('server exited during the load');
    }
    const baseline = rawSubtreeQuery(server.sqlitePath, fixture.thousandPath, Math.min(durationS, 3));
    const peakRssMb = server.memoryMb('VmHWM');

    const listP95 = results[0].p95;
    console.log(
      [
        '',
        `org: ${fixture.nodes} departments (depth ${MAX_DEPTH} below the root), ${USERS} users, ` +
          `${fixture.memberships} memberships; ${concurrency} concurrent, ${durationS} s per measurement`,
        ...[...results, baseline].map(
          (m) =>
            `  ${m.name.padEnd(46)} ${String(m.requests).padStart(6)} req   p50/p95/p99 ${m.p50} / ${m.p95} / ${m.p99} ms` +
            (m.bytes ? `   ${round1(m.bytes / 1024)} KiB` : ''),
        ),
        `  target: list/ of the 1k-node subtree p95 < ${TARGET_LIST_P95_MS} ms (1 client)   ` +
          verdict(listP95 < TARGET_LIST_P95_MS),
        `  server RSS after start ${round1(idleRssMb)} MB, peak (VmHWM) ${round1(peakRssMb)} MB`,
      ].join('\n'),
    );
    console.log(
      `RESULT ${JSON.stringify({
        nodes: fixture.nodes,
        users: USERS,
        memberships: fixture.memberships,
        concurrency,
        duration_s: durationS,
        measurements: [...results, baseline],
        list_1k_p95_ms: listP95,
        idle_rss_mb: round1(idleRssMb),
        peak_rss_mb: round1(peakRssMb),
      })}`,
    );
  } finally {
    await server.dispose();
  }
}
