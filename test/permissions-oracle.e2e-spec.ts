import { API, createTestApp, createUser, login, type TestApp } from './harness/test-app';

/**
 * The permission engine against a brute-force oracle, over random worlds built and changed through the
 * HTTP API. The test keeps its own model of the org and of every assignment, and evaluates the rule of the
 * issue on it directly (recursively up the model's parent links), sharing no code with the engine:
 *
 * - a node's value: its own status if not 0, else its parent's value; a root takes the permission's default
 *   (`allow_any_user` for an app's access permission, false otherwise);
 * - a user's value: its own status if not 0, else true if any node it belongs to has the value true, else the
 *   default. `dept_perm_value` / `group_perm_value`: some department / group of the user has the value true.
 *
 * Worlds accumulate in one database, so later worlds also check that earlier ones are left alone.
 * ARBOR_ORACLE_SEED=<n> replays a run; every failure names the seed.
 */

type Status = -1 | 0 | 1;
type Kind = 'dept' | 'group';
type Method = 'get' | 'post' | 'patch' | 'delete';

const WORLDS = 4;
const USERS_PER_WORLD = 25;
const MAX_DEPTH = 6;
/** Built-in nodes that may carry assignments (and, rarely, members). */
const BUILTIN_TARGETS = ['d_root', 'g_root', 'g_intra', 'g_role', 'g_label'];

/** mulberry32: a small seedable generator, so a failing world can be rebuilt exactly. */
class Rand {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let x = this.state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)];
  }
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy.slice(0, k);
  }
  sign(): Status {
    return this.chance(0.5) ? 1 : -1;
  }
}

// ---- the model and the oracle ----

interface ModelNode {
  kind: Kind;
  parent: string | null;
  /** The group category (`g_role`, `g_label`) a group lives in; moves stay inside it. */
  category: string | null;
  world: number | null;
}

interface ModelPerm {
  uid: string;
  /** The app whose access permission this is (its default follows allow_any_user); null otherwise. */
  accessOf: string | null;
  world: number | null;
  nodes: Map<string, Status>;
  users: Map<string, Status>;
}

interface Expected {
  status: Status;
  value: boolean;
  dept: boolean;
  group: boolean;
}

class Model {
  readonly nodes = new Map<string, ModelNode>();
  /** username → node_uids it directly belongs to. */
  readonly members = new Map<string, Set<string>>();
  readonly apps = new Map<string, { allowAnyUser: boolean; world: number }>();
  readonly perms = new Map<string, ModelPerm>();

  constructor() {
    const builtin = (uid: string, kind: Kind, parent: string | null, category: string | null = null) =>
      this.nodes.set(uid, { kind, parent, category, world: null });
    builtin('d_root', 'dept', null);
    builtin('g_root', 'group', null);
    builtin('g_intra', 'group', 'g_root');
    builtin('g_extern', 'group', 'g_root');
    for (const category of ['g_role', 'g_label', 'g_manager'])
      builtin(category, 'group', 'g_intra', category);
  }

  node(uid: string): ModelNode {
    const node = this.nodes.get(uid);
    if (!node) throw new Error(`model: no node ${uid}`);
    return node;
  }

  perm(uid: string): ModelPerm {
    const perm = this.perms.get(uid);
    if (!perm) throw new Error(`model: no permission ${uid}`);
    return perm;
  }

  depthBelow(uid: string, top: string): number {
    let depth = 0;
    for (let at = uid; at !== top; at = this.node(at).parent as string) depth++;
    return depth;
  }

  /** The node and every node below it. */
  subtree(uid: string): Set<string> {
    const inside = new Set([uid]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [id, n] of this.nodes) {
        if (!inside.has(id) && n.parent !== null && inside.has(n.parent)) {
          inside.add(id);
          grew = true;
        }
      }
    }
    return inside;
  }

  hasChildren(uid: string): boolean {
    return [...this.nodes.values()].some((n) => n.parent === uid);
  }

  membersOf(nodeUid: string): string[] {
    return [...this.members].filter(([, nodes]) => nodes.has(nodeUid)).map(([u]) => u);
  }

  defaultOf(perm: ModelPerm): boolean {
    return perm.accessOf !== null && this.apps.get(perm.accessOf)?.allowAnyUser === true;
  }

  nodeValue(perm: ModelPerm, uid: string): boolean {
    const own = perm.nodes.get(uid) ?? 0;
    if (own !== 0) return own === 1;
    const parent = this.node(uid).parent;
    return parent === null ? this.defaultOf(perm) : this.nodeValue(perm, parent);
  }

  /** The node whose explicit status gives `uid` its value (itself or the nearest ancestor), or null. */
  decidingNode(perm: ModelPerm, uid: string): string | null {
    for (let at: string | null = uid; at !== null; at = this.node(at).parent) {
      if ((perm.nodes.get(at) ?? 0) !== 0) return at;
    }
    return null;
  }

  expect(perm: ModelPerm, username: string): Expected {
    const status = perm.users.get(username) ?? 0;
    const nodes = [...(this.members.get(username) ?? [])];
    const dept = nodes.some((n) => this.node(n).kind === 'dept' && this.nodeValue(perm, n));
    const group = nodes.some((n) => this.node(n).kind === 'group' && this.nodeValue(perm, n));
    const value = status !== 0 ? status === 1 : dept || group ? true : this.defaultOf(perm);
    return { status, value, dept, group };
  }

  /**
   * What `source` should name, as sorted keys (`user:<name>`, a node_uid, `default`): the user when its own
   * status decides; else, for every membership that grants, its deciding node (or the default); when nothing
   * grants and the default refuses, the nodes whose explicit status refused; else the default.
   */
  expectedSources(perm: ModelPerm, username: string): string[] {
    if ((perm.users.get(username) ?? 0) !== 0) return [`user:${username}`];
    const nodes = [...(this.members.get(username) ?? [])];
    const granting = nodes.filter((n) => this.nodeValue(perm, n));
    const keys = new Set<string>();
    if (granting.length > 0) {
      for (const n of granting) keys.add(this.decidingNode(perm, n) ?? 'default');
    } else if (!this.defaultOf(perm)) {
      for (const n of nodes) {
        const decider = this.decidingNode(perm, n);
        if (decider !== null) keys.add(decider);
      }
    }
    if (keys.size === 0) keys.add('default');
    return [...keys].sort();
  }

  removeUser(username: string): void {
    this.members.delete(username);
    for (const perm of this.perms.values()) perm.users.delete(username);
  }

  removeNode(uid: string): void {
    this.nodes.delete(uid);
    for (const nodes of this.members.values()) nodes.delete(uid);
    for (const perm of this.perms.values()) perm.nodes.delete(uid);
  }
}

/** Applies a PATCH perm/<uid>/owner/ body to the model the way the contract reads it: last item wins, 0 clears. */
function applyOwners(
  perm: ModelPerm,
  body: { clean?: boolean; user_perm_status?: Item[]; node_perm_status?: Item[] },
): void {
  if (body.clean) {
    perm.users.clear();
    perm.nodes.clear();
  }
  const apply = (map: Map<string, Status>, items: Item[] = []) => {
    for (const { uid, status } of items) {
      if (status === 0) map.delete(uid);
      else map.set(uid, status);
    }
  };
  apply(perm.users, body.user_perm_status);
  apply(perm.nodes, body.node_perm_status);
}

interface Item {
  uid: string;
  status: Status;
}

interface UserPermRow {
  perm: { uid: string };
  status: number;
  value: boolean;
  dept_perm_value: boolean;
  group_perm_value: boolean;
  node_perm_value: boolean;
}

interface SourceEntry {
  uid: string;
  node_uid: string | null;
  node_subject: string;
}

const plain = (nodeUid: string) => nodeUid.slice(2);
const routeOf = (kind: Kind) => (kind === 'dept' ? 'dept' : 'group');

describe('permission engine against a brute-force oracle', () => {
  const baseSeed = Number(process.env.ARBOR_ORACLE_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const model = new Model();
  const usersOfWorld: string[][] = [];
  const stats = { cases: 0, rounds: 0, started: Date.now() };
  let t: TestApp;
  let auth: { Authorization: string };
  /** Sign-in tokens of a few users per world, for the caller's own view (`ucenter/perm/`). */
  const tokens = new Map<string, string>();
  const passwords = new Map<string, string>();

  beforeAll(async () => {
    t = await createTestApp();
    auth = { Authorization: `Token ${await t.adminToken()}` };
    model.members.set('admin', new Set());
    const system = (await call('get', '/meta/perm/')) as { uid: string }[];
    for (const { uid } of system) {
      model.perms.set(uid, { uid, accessOf: null, world: null, nodes: new Map(), users: new Map() });
    }
  });

  afterAll(async () => {
    console.log(
      `permissions oracle (${process.env.ARBOR_TEST_DB ?? 'sqlite'}, seed ${baseSeed}): ` +
        `${stats.cases} cases compared in ${stats.rounds} rounds, ${Date.now() - stats.started} ms`,
    );
    await t.close();
  });

  async function call(method: Method, path: string, body?: object, expected?: number): Promise<unknown> {
    const pending = t.http[method](`${API}${path}`).set(auth);
    const res = body === undefined ? await pending : await pending.send(body);
    const wanted = expected ?? (method === 'post' ? 201 : method === 'delete' ? 204 : 200);
    if (res.status !== wanted) {
      throw new Error(
        `${method.toUpperCase()} ${path} ${JSON.stringify(body ?? null)}: ` +
          `${res.status} ${JSON.stringify(res.body)}`,
      );
    }
    return res.body;
  }

  /** Runs `work` with at most `width` requests in flight. */
  async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>) {
    let next = 0;
    let failed = false;
    const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
      try {
        while (!failed && next < items.length) await work(items[next++]);
      } catch (error) {
        failed = true;
        throw error;
      }
    });
    // Let every lane stop before reporting, so nothing still talks to the app once the test has failed.
    const outcomes = await Promise.allSettled(lanes);
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  }

  // ---- comparing ----

  function describeCase(perm: ModelPerm, username: string): string {
    const nodes = [...(model.members.get(username) ?? [])].map((n) => {
      const chain: string[] = [];
      for (let at: string | null = n; at !== null; at = model.node(at).parent) {
        const s = perm.nodes.get(at) ?? 0;
        chain.push(s === 0 ? at : `${at}(${s})`);
      }
      return chain.join('<');
    });
    return (
      `default=${model.defaultOf(perm)} own=${perm.users.get(username) ?? 0} ` +
      `memberships=[${nodes.join(', ')}]`
    );
  }

  function compareRow(row: UserPermRow, username: string, mismatches: string[], via: string): void {
    const perm = model.perm(row.perm.uid);
    const want = model.expect(perm, username);
    const got = {
      status: row.status,
      value: row.value,
      dept: row.dept_perm_value,
      group: row.group_perm_value,
    };
    stats.cases++;
    if (
      got.status !== want.status ||
      got.value !== want.value ||
      got.dept !== want.dept ||
      got.group !== want.group ||
      row.node_perm_value !== (want.dept || want.group)
    ) {
      mismatches.push(
        `${via} ${username} × ${perm.uid}: engine ${JSON.stringify(got)} oracle ${JSON.stringify(want)}; ` +
          describeCase(perm, username),
      );
    }
  }

  async function userRows(username: string): Promise<UserPermRow[]> {
    const rows: UserPermRow[] = [];
    for (let page = 1; ; page++) {
      const body = (await call('get', `/perm/user/${username}/?page_size=100&page=${page}`)) as {
        count: number;
        next: string | null;
        results: UserPermRow[];
      };
      expect(body.count).toBe(model.perms.size);
      rows.push(...body.results);
      if (body.next === null) break;
    }
    return rows;
  }

  function sourceKeys(source: SourceEntry[]): string[] {
    return source
      .map((s) =>
        s.node_subject === 'user'
          ? `user:${s.uid}`
          : s.node_subject === 'default'
            ? 'default'
            : `${s.node_uid}`,
      )
      .sort();
  }

  /**
   * Every (user, permission) pair of `usernames` through the per-user list, a sample through the single-pair
   * and explained endpoints, the signed-in users' own lists, and the holders of two permissions.
   */
  async function compare(rand: Rand, usernames: readonly string[], label: string): Promise<void> {
    stats.rounds++;
    const mismatches: string[] = [];
    const perms = [...model.perms.values()];
    await inParallel(usernames, 4, async (username) => {
      const rows = await userRows(username);
      expect(rows.map((r) => r.perm.uid).sort()).toEqual([...model.perms.keys()].sort());
      for (const row of rows) compareRow(row, username, mismatches, 'list');
    });

    // The single-pair endpoint, on a sample.
    const pairs = Array.from({ length: 40 }, () => [rand.pick(usernames), rand.pick(perms)] as const);
    await inParallel(pairs, 4, async ([username, perm]) => {
      const row = (await call('get', `/user/${username}/perm/${perm.uid}/result/`)) as UserPermRow;
      compareRow(row, username, mismatches, 'result');
    });

    // Explanations: a few pairs of each kind of decision, as the oracle sees them.
    const byKind = new Map<string, [string, ModelPerm][]>();
    for (const username of usernames) {
      for (const perm of perms) {
        const keys = model.expectedSources(perm, username);
        const kind = keys[0].startsWith('user:')
          ? 'user'
          : keys.includes('default')
            ? 'default'
            : model.expect(perm, username).value
              ? 'grant'
              : 'refuse';
        const list = byKind.get(kind) ?? [];
        list.push([username, perm]);
        byKind.set(kind, list);
      }
    }
    const explained = [...byKind.values()].flatMap((list) => rand.sample(list, 5));
    await inParallel(explained, 4, async ([username, perm]) => {
      const body = (await call('get', `/user/${username}/perm/${perm.uid}/`)) as UserPermRow & {
        source: SourceEntry[];
      };
      compareRow(body, username, mismatches, 'detail');
      const want = model.expectedSources(perm, username);
      const got = sourceKeys(body.source);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        mismatches.push(
          `source ${username} × ${perm.uid}: engine ${JSON.stringify(body.source)} oracle ${JSON.stringify(want)}; ` +
            describeCase(perm, username),
        );
      }
      if (want[0].startsWith('user:')) {
        expect(body.source).toEqual([expect.objectContaining({ node_subject: 'user', uid: username })]);
      }
    });

    // The callers' own lists, which evaluate only the permissions that can differ from false.
    await inParallel(
      usernames.filter((u) => tokens.has(u)),
      4,
      async (username) => {
        const held: string[] = [];
        for (let page = 1; ; page++) {
          const res = await t.http
            .get(`${API}/ucenter/perm/?page_size=100&page=${page}`)
            .set('Authorization', `Token ${tokens.get(username)}`);
          expect(res.status).toBe(200);
          const body = res.body as { next: string | null; results: UserPermRow[] };
          for (const row of body.results) compareRow(row, username, mismatches, 'ucenter');
          held.push(...body.results.map((r) => r.perm.uid));
          if (body.next === null) break;
        }
        const want = perms.filter((p) => model.expect(p, username).value).map((p) => p.uid);
        if (JSON.stringify(held.sort()) !== JSON.stringify(want.sort())) {
          mismatches.push(
            `ucenter/perm of ${username}: extra ${JSON.stringify(held.filter((u) => !want.includes(u)))} ` +
              `missing ${JSON.stringify(want.filter((u) => !held.includes(u)))}`,
          );
        }
      },
    );

    // Holders: the users whose final answer is true, over every user of every world.
    const everyone = [...model.members.keys()];
    for (const perm of rand.sample(perms, 2)) {
      const holders: string[] = [];
      for (let page = 1; ; page++) {
        const body = (await call(
          'get',
          `/perm/${perm.uid}/owner/?value=true&owner_subject=user&page_size=100&page=${page}`,
        )) as { next: string | null; results: { uid: string; value: boolean }[] };
        holders.push(...body.results.map((r) => r.uid));
        if (body.next === null) break;
      }
      const want = everyone.filter((u) => model.expect(perm, u).value).sort();
      stats.cases += everyone.length;
      if (JSON.stringify(holders.sort()) !== JSON.stringify(want)) {
        const extra = holders.filter((u) => !want.includes(u));
        const missing = want.filter((u) => !holders.includes(u));
        mismatches.push(
          `holders of ${perm.uid}: extra ${JSON.stringify(extra)} missing ${JSON.stringify(missing)}; ` +
            [...extra, ...missing]
              .slice(0, 3)
              .map((u) => `${u}: ${describeCase(perm, u)}`)
              .join('; '),
        );
      }
    }

    if (mismatches.length > 0) {
      throw new Error(
        `${label}: ${mismatches.length} mismatches, first ones:\n  ${mismatches.slice(0, 8).join('\n  ')}`,
      );
    }
  }

  // ---- building ----

  async function createNode(world: number, kind: Kind, uid: string, parent: string): Promise<void> {
    await call('post', `/${routeOf(kind)}/${plain(parent)}/${routeOf(kind)}/`, { uid, name: uid });
    const category = kind === 'group' ? (model.node(parent).category ?? parent) : null;
    model.nodes.set(`${kind === 'dept' ? 'd' : 'g'}_${uid}`, { kind, parent, category, world });
  }

  function worldNodes(world: number, kind?: Kind): string[] {
    return [...model.nodes]
      .filter(([, n]) => n.world === world && (kind === undefined || n.kind === kind))
      .map(([uid]) => uid);
  }

  async function buildTree(rand: Rand, world: number, kind: Kind): Promise<void> {
    const tops = kind === 'dept' ? ['d_root'] : ['g_role', 'g_label'];
    const count = rand.between(30, 60);
    for (let i = 0; i < count; i++) {
      // Parents among the roots and this world's nodes not yet at the depth limit.
      const parents = [
        ...tops,
        ...worldNodes(world, kind).filter((uid) => {
          const top = kind === 'dept' ? 'd_root' : (model.node(uid).category as string);
          return model.depthBelow(uid, top) < MAX_DEPTH;
        }),
      ];
      // Favour recent nodes, so trees grow deep as well as wide.
      const parent = rand.chance(0.4)
        ? parents[parents.length - 1 - rand.int(Math.min(4, parents.length))]
        : rand.pick(parents);
      await createNode(world, kind, `w${world}${kind === 'dept' ? 'd' : 'g'}${i}`, parent);
    }
  }

  async function addMembers(nodeUid: string, usernames: string[]): Promise<void> {
    const kind = model.node(nodeUid).kind;
    await call('patch', `/${routeOf(kind)}/${plain(nodeUid)}/user/`, {
      subject: 'add',
      user_uids: usernames,
    });
    for (const u of usernames) model.members.get(u)?.add(nodeUid);
  }

  /** Random statuses for one permission over this world's nodes and users (and the assignable built-ins). */
  function randomOwners(rand: Rand, world: number): { user_perm_status: Item[]; node_perm_status: Item[] } {
    const nodeDensity = rand.pick([0, 0.03, 0.08, 0.15, 0.25]);
    const userDensity = rand.pick([0, 0, 0.05, 0.12]);
    const node_perm_status: Item[] = [];
    for (const uid of [...BUILTIN_TARGETS, ...worldNodes(world)]) {
      const density = BUILTIN_TARGETS.includes(uid) ? nodeDensity / 2 : nodeDensity;
      if (rand.chance(density)) node_perm_status.push({ uid, status: rand.sign() });
      else if (rand.chance(0.01)) node_perm_status.push({ uid, status: 0 });
    }
    const user_perm_status: Item[] = [];
    for (const username of usersOfWorld[world]) {
      if (rand.chance(userDensity)) user_perm_status.push({ uid: username, status: rand.sign() });
      else if (rand.chance(0.01)) user_perm_status.push({ uid: username, status: 0 });
    }
    return { user_perm_status, node_perm_status };
  }

  async function patchOwners(
    perm: ModelPerm,
    body: { clean?: boolean; user_perm_status?: Item[]; node_perm_status?: Item[] },
  ): Promise<void> {
    await call('patch', `/perm/${perm.uid}/owner/`, body);
    applyOwners(perm, body);
  }

  async function buildWorld(rand: Rand, world: number): Promise<void> {
    await buildTree(rand, world, 'dept');
    await buildTree(rand, world, 'group');

    const users: string[] = [];
    await inParallel(
      Array.from({ length: USERS_PER_WORLD }, (_v, i) => i),
      5,
      async () => {
        const user = await createUser(t);
        users.push(user.username);
        passwords.set(user.username, user.password);
      },
    );
    users.sort();
    usersOfWorld[world] = users;
    for (const username of users.slice(0, 4)) {
      tokens.set(username, await login(t.http, { username, password: passwords.get(username) }));
    }
    for (const u of users) model.members.set(u, new Set());

    // Memberships, grouped by node so each node takes one request.
    const joins = new Map<string, string[]>();
    const depts = worldNodes(world, 'dept');
    const groups = worldNodes(world, 'group');
    for (const u of users) {
      if (rand.chance(0.1)) continue;
      const mine = [
        ...rand.sample(depts, rand.between(0, 3)),
        ...rand.sample(groups, rand.between(0, 3)),
        ...(rand.chance(0.05) ? [rand.pick(['d_root', 'g_role', 'g_label'])] : []),
      ];
      for (const n of mine) joins.set(n, [...(joins.get(n) ?? []), u]);
    }
    for (const [nodeUid, members] of joins) await addMembers(nodeUid, members);

    for (let a = 0; a < 3; a++) {
      const allowAnyUser = rand.chance(0.4);
      const app = (await call('post', '/app/', {
        name: `w${world}app${a}`,
        allow_any_user: allowAnyUser,
      })) as {
        uid: string;
        allow_any_user: boolean;
      };
      expect(app.allow_any_user).toBe(allowAnyUser);
      model.apps.set(app.uid, { allowAnyUser, world });
      // Its creator (the admin) joins the app's new sub-admin group under g_manager (contract §3.6).
      const adminGroups = (await call('get', '/user/admin/group/')) as { groups: { node_uid: string }[] };
      for (const { node_uid: nodeUid } of adminGroups.groups) {
        if (model.nodes.has(nodeUid)) continue;
        model.nodes.set(nodeUid, { kind: 'group', parent: 'g_manager', category: 'g_manager', world: null });
        model.members.get('admin')?.add(nodeUid);
      }
      const access = `app_${app.uid}_access`;
      model.perms.set(access, { uid: access, accessOf: app.uid, world, nodes: new Map(), users: new Map() });
      for (let p = rand.between(6, 9); p > 0; p--) {
        const perm = (await call('post', '/perm/', { scope: app.uid, name: `w${world}p${p}` })) as {
          uid: string;
        };
        model.perms.set(perm.uid, {
          uid: perm.uid,
          accessOf: null,
          world,
          nodes: new Map(),
          users: new Map(),
        });
      }
    }

    const assignable = [...model.perms.values()].filter((p) => p.world === world || p.world === null);
    for (const perm of assignable) {
      if (perm.world === null && !rand.chance(0.3)) continue;
      const body = randomOwners(rand, world);
      if (body.user_perm_status.length + body.node_perm_status.length > 0) await patchOwners(perm, body);
    }
  }

  // ---- changing ----

  async function moveNodes(rand: Rand, world: number, kind: Kind, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      const node = rand.pick(worldNodes(world, kind));
      const inside = model.subtree(node);
      const category = model.node(node).category;
      const targets = [
        ...(kind === 'dept' ? ['d_root'] : [category as string]),
        ...worldNodes(world, kind).filter((n) => !inside.has(n) && model.node(n).category === category),
      ];
      const target = rand.pick(targets);
      const field = kind === 'dept' ? 'dept_uids' : 'group_uids';
      await call('patch', `/${routeOf(kind)}/${plain(target)}/${routeOf(kind)}/`, {
        subject: 'add',
        [field]: [plain(node)],
      });
      model.node(node).parent = target;
    }
  }

  async function changeMemberships(rand: Rand, world: number): Promise<void> {
    const withMembers = worldNodes(world).filter((n) => model.membersOf(n).length > 0);
    for (const nodeUid of rand.sample(withMembers, 5)) {
      const members = model.membersOf(nodeUid);
      const leaving = rand.sample(members, Math.max(1, Math.floor(members.length / 2)));
      await call('patch', `/${routeOf(model.node(nodeUid).kind)}/${plain(nodeUid)}/user/`, {
        subject: 'delete',
        user_uids: leaving,
      });
      for (const u of leaving) model.members.get(u)?.delete(nodeUid);
    }
    // And from the user's side: one leaves two nodes, one joins two.
    const leavers = usersOfWorld[world].filter((u) => (model.members.get(u)?.size ?? 0) > 0);
    if (leavers.length > 0) {
      const leaver = rand.pick(leavers);
      const gone = rand.sample([...(model.members.get(leaver) ?? [])], 2);
      await call('patch', `/user/${leaver}/node/`, { subject: 'delete', node_uids: gone });
      for (const n of gone) model.members.get(leaver)?.delete(n);
    }
    const joiner = rand.pick(usersOfWorld[world]);
    const joined = rand.sample(worldNodes(world), 2);
    await call('patch', `/user/${joiner}/node/`, { subject: 'add', node_uids: joined });
    for (const n of joined) model.members.get(joiner)?.add(n);
  }

  async function changeAssignments(rand: Rand, world: number): Promise<void> {
    const perms = [...model.perms.values()].filter((p) => p.world === world);
    const chosen = rand.sample(perms, 6);
    for (const [i, perm] of chosen.entries()) {
      if (i === 0) {
        await patchOwners(perm, { clean: true, ...randomOwners(rand, world) });
        continue;
      }
      // Flip or clear some existing statuses, add some new ones.
      const node_perm_status: Item[] = [...perm.nodes].flatMap(([uid, s]) =>
        rand.chance(0.4) ? [{ uid, status: rand.chance(0.5) ? 0 : (-s as Status) }] : [],
      );
      const user_perm_status: Item[] = [...perm.users].flatMap(([uid, s]) =>
        rand.chance(0.4) ? [{ uid, status: rand.chance(0.5) ? 0 : (-s as Status) }] : [],
      );
      const fresh = randomOwners(rand, world);
      await patchOwners(perm, {
        node_perm_status: [...node_perm_status, ...fresh.node_perm_status],
        user_perm_status: [...user_perm_status, ...fresh.user_perm_status],
      });
    }
    // The owner-centred write paths, on one user and one node.
    const username = rand.pick(usersOfWorld[world]);
    const userItems = rand
      .sample(perms, 4)
      .map((p) => ({ uid: p.uid, status: rand.pick([-1, 0, 1] as Status[]) }));
    const rows = (await call('patch', `/perm/user/${username}/`, {
      perm_statuses: userItems,
    })) as UserPermRow[];
    for (const { uid, status } of userItems)
      applyOwners(model.perm(uid), { user_perm_status: [{ uid: username, status }] });
    const mismatches: string[] = [];
    for (const row of rows) compareRow(row, username, mismatches, 'patch perm/user');
    expect(mismatches).toEqual([]);
    const nodeUid = rand.pick(worldNodes(world));
    const nodeItems = rand.sample(perms, 4).map((p) => ({ uid: p.uid, status: rand.sign() }));
    await call('patch', `/perm/node/${nodeUid}/`, { perm_statuses: nodeItems });
    for (const { uid, status } of nodeItems)
      applyOwners(model.perm(uid), { node_perm_status: [{ uid: nodeUid, status }] });
  }

  /** Deletes a user holding assignments and memberships; its decisions and assignments go with it. */
  async function deleteUser(rand: Rand, world: number): Promise<void> {
    const users = usersOfWorld[world].filter((u) => !tokens.has(u));
    const assigned = users.filter((u) => [...model.perms.values()].some((p) => p.users.has(u)));
    const username = rand.pick(assigned.length > 0 ? assigned : users);
    const permsOfUser = [...model.perms.values()].filter((p) => p.users.has(username));
    await call('delete', `/user/${username}/`);
    model.removeUser(username);
    usersOfWorld[world].splice(usersOfWorld[world].indexOf(username), 1);
    await call('get', `/user/${username}/perm/${rand.pick([...model.perms.keys()])}/result/`, undefined, 404);
    for (const perm of permsOfUser) {
      const body = (await call('get', `/perm/${perm.uid}/owner/?owner_subject=user&page_size=100`)) as {
        results: { uid: string }[];
      };
      expect(body.results.map((r) => r.uid).sort()).toEqual([...perm.users.keys()].sort());
    }
  }

  /** Deletes one custom permission of this world and, from the second world on, an app of the one before. */
  async function deletePermsAndApps(rand: Rand, world: number): Promise<void> {
    const custom = [...model.perms.values()].filter((p) => p.world === world && p.accessOf === null);
    const perm = rand.pick(custom);
    await call('delete', `/perm/${perm.uid}/`);
    model.perms.delete(perm.uid);
    await call('get', `/user/${usersOfWorld[world][0]}/perm/${perm.uid}/result/`, undefined, 404);
    if (world === 0) return;
    const appUid = rand.pick([...model.apps].filter(([, a]) => a.world === world - 1).map(([uid]) => uid));
    await call('delete', `/app/${appUid}/`);
    model.apps.delete(appUid);
    for (const p of [...model.perms.values()]) {
      if (p.uid.startsWith(`app_${appUid}_`)) model.perms.delete(p.uid);
    }
  }

  async function toggleApps(rand: Rand): Promise<void> {
    for (const appUid of rand.sample([...model.apps.keys()], 2)) {
      const app = model.apps.get(appUid) as { allowAnyUser: boolean };
      const body = (await call('patch', `/app/${appUid}/`, { allow_any_user: !app.allowAnyUser })) as {
        allow_any_user: boolean;
      };
      app.allowAnyUser = !app.allowAnyUser;
      expect(body.allow_any_user).toBe(app.allowAnyUser);
    }
  }

  /** Gives one leaf of each tree members and assignments, for the deletion that follows. */
  async function prepareDeletions(rand: Rand, world: number): Promise<string[]> {
    const victims: string[] = [];
    for (const kind of ['dept', 'group'] as const) {
      const leaves = worldNodes(world, kind).filter((n) => !model.hasChildren(n));
      const victim = rand.pick(leaves);
      victims.push(victim);
      if (model.membersOf(victim).length === 0) await addMembers(victim, rand.sample(usersOfWorld[world], 3));
      const perms = [...model.perms.values()].filter((p) => p.world === world);
      for (const perm of rand.sample(perms, 3)) {
        // Grant where the parent's value refuses, and the reverse, so the deletion changes answers.
        const parent = model.node(victim).parent as string;
        const status: Status = model.nodeValue(perm, parent) ? -1 : 1;
        await patchOwners(perm, { node_perm_status: [{ uid: victim, status }] });
      }
    }
    return victims;
  }

  /** Deletes the nodes with their members and assignments, then creates a node of the same uid elsewhere. */
  async function deleteAndRecreate(rand: Rand, world: number, victims: string[]): Promise<void> {
    for (const victim of victims) {
      const { kind } = model.node(victim);
      await call('delete', `/${routeOf(kind)}/${plain(victim)}/?ignore_user=true`);
      model.removeNode(victim);
    }
    for (const victim of victims) {
      const kind: Kind = victim.startsWith('d_') ? 'dept' : 'group';
      const parents = [...(kind === 'dept' ? ['d_root'] : ['g_role', 'g_label']), ...worldNodes(world, kind)];
      await createNode(world, kind, plain(victim), rand.pick(parents));
      await addMembers(victim, rand.sample(usersOfWorld[world], 2));
    }
  }

  async function withSeed(seed: number, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (error instanceof Error) {
        error.message = `[seed ${baseSeed}, world seed ${seed}; replay with ARBOR_ORACLE_SEED=${baseSeed}] ${error.message}`;
      }
      throw error;
    }
  }

  for (let world = 0; world < WORLDS; world++) {
    it(`world ${world}: random trees, members and assignments, then changes, agree with the oracle`, async () => {
      const seed = (baseSeed + world * 7919) >>> 0;
      await withSeed(seed, async () => {
        const rand = new Rand(seed);
        await buildWorld(rand, world);
        const users = usersOfWorld[world];
        await compare(rand, users, 'built');

        await moveNodes(rand, world, 'dept', 2);
        await moveNodes(rand, world, 'group', 1);
        await compare(rand, users, 'after moving subtrees');

        await changeMemberships(rand, world);
        await compare(rand, users, 'after membership changes');

        await changeAssignments(rand, world);
        await compare(rand, users, 'after assignment changes');

        await toggleApps(rand);
        await compare(rand, users, 'after toggling allow_any_user');

        await deletePermsAndApps(rand, world);
        await compare(rand, users, 'after deleting a permission and an app');

        await deleteUser(rand, world);
        await compare(rand, users, 'after deleting a user');

        const victims = await prepareDeletions(rand, world);
        await compare(rand, users, 'before deleting assigned nodes');
        await deleteAndRecreate(rand, world, victims);
        await compare(rand, users, 'after deleting assigned nodes and reusing their uids');
      });
    });
  }

  it('still agrees for every user of every world, the admin included', async () => {
    await withSeed(baseSeed, async () => {
      await compare(new Rand(baseSeed), [...model.members.keys()], 'final, all users');
    });
  });
});
