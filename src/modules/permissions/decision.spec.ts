import { decideNode, decideUser, type Membership, type PermAssignments, type Status } from './decision';

// d_root(1) ─ sales(10) ─ east(11)        g_root(2) ─ role(5) ─ lead(50)
const PATHS: Record<number, number[]> = {
  1: [1],
  10: [1, 10],
  11: [1, 10, 11],
  2: [2],
  5: [2, 5],
  50: [2, 5, 50],
};
const dept = (id: number): Membership => ({ nodeId: id, kind: 'dept', path: PATHS[id] });
const group = (id: number): Membership => ({ nodeId: id, kind: 'group', path: PATHS[id] });
const perm = (
  nodes: [number, Status][] = [],
  users: [number, Status][] = [],
  defaultValue = false,
): PermAssignments => ({ defaultValue, nodeStatus: new Map(nodes), userStatus: new Map(users) });

describe('permission decision', () => {
  const table: [string, PermAssignments, Membership[], boolean, string][] = [
    ['nothing assigned: the default (false)', perm(), [dept(11)], false, 'default'],
    ['white-listed ancestor grants', perm([[10, 1]]), [dept(11)], true, 'node:10'],
    [
      'a child status beats its ancestor',
      perm([
        [10, 1],
        [11, -1],
      ]),
      [dept(11)],
      false,
      'node:11',
    ],
    ['user black list beats group white list', perm([[50, 1]], [[7, -1]]), [group(50)], false, 'user:7'],
    ['user white list beats node black list', perm([[11, -1]], [[7, 1]]), [dept(11)], true, 'user:7'],
    [
      'allow wins across memberships',
      perm([
        [11, -1],
        [5, 1],
      ]),
      [dept(11), group(50)],
      true,
      'node:5',
    ],
    ['no memberships: the default', perm([[10, 1]]), [], false, 'default'],
    ['allow_any_user: true by default', perm([], [], true), [dept(11)], true, 'default'],
    ['allow_any_user with no memberships', perm([], [], true), [], true, 'default'],
  ];

  it.each(table)('%s', (_name, p, memberships, expected, source) => {
    const decision = decideUser(p, 7, memberships);
    expect(decision.value).toBe(expected);
    const first = decision.sources[0];
    const described =
      first.kind === 'user'
        ? `user:${first.userId}`
        : first.kind === 'node'
          ? `node:${first.nodeId}`
          : 'default';
    expect(described).toBe(source);
  });

  it('reports dept and group values separately', () => {
    const d = decideUser(perm([[5, 1]]), 7, [dept(11), group(50)]);
    expect(d).toMatchObject({ value: true, status: 0, deptValue: false, groupValue: true });
  });

  it("names the node's own status apart from what decided", () => {
    expect(decideNode(perm([[10, 1]]), PATHS[11])).toEqual({
      value: true,
      status: 0,
      source: { kind: 'node', nodeId: 10 },
    });
  });
});

/** A small deterministic generator, so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('permission decision against a brute-force oracle', () => {
  it('agrees on thousands of random trees, memberships and assignments', () => {
    let cases = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const random = rng(seed);
      const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
      // Random forest: node i's parent is a random earlier node (or none: a root).
      const count = 2 + Math.floor(random() * 40);
      const parent = new Map<number, number | null>();
      for (let id = 1; id <= count; id++)
        parent.set(id, id === 1 || random() < 0.1 ? null : 1 + Math.floor(random() * (id - 1)));
      const statuses: Status[] = [-1, 0, 0, 1];
      const nodeStatus = new Map<number, Status>();
      for (let id = 1; id <= count; id++) {
        const s = pick(statuses);
        if (s !== 0) nodeStatus.set(id, s);
      }
      const defaultValue = random() < 0.3;

      // The oracle: the recursive definition over parent pointers, not paths.
      const oracleNode = (id: number): boolean => {
        const s = nodeStatus.get(id) ?? 0;
        if (s !== 0) return s === 1;
        const p = parent.get(id) ?? null;
        return p === null ? defaultValue : oracleNode(p);
      };
      const pathOf = (id: number): number[] => {
        const path: number[] = [];
        for (let cur: number | null = id; cur !== null; cur = parent.get(cur) ?? null) path.unshift(cur);
        return path;
      };

      for (let user = 1; user <= 20; user++) {
        const userStatus = pick(statuses);
        const direct = [
          ...new Set(
            Array.from({ length: Math.floor(random() * 4) }, () => 1 + Math.floor(random() * count)),
          ),
        ];
        const expected = userStatus !== 0 ? userStatus === 1 : direct.some(oracleNode) ? true : defaultValue;
        const assignments: PermAssignments = {
          defaultValue,
          nodeStatus,
          userStatus: new Map(userStatus === 0 ? [] : [[user, userStatus]]),
        };
        const memberships = direct.map((id): Membership => ({
          nodeId: id,
          kind: pick(['dept', 'group'] as const),
          path: pathOf(id),
        }));
        const decision = decideUser(assignments, user, memberships);
        if (decision.value !== expected)
          throw new Error(`seed ${seed}, user ${user}: engine ${decision.value}, oracle ${expected}`);
        for (const id of direct) {
          if (decideNode(assignments, pathOf(id)).value !== oracleNode(id))
            throw new Error(`seed ${seed}, node ${id}`);
        }
        cases++;
      }
    }
    expect(cases).toBe(6000);
  });
});
