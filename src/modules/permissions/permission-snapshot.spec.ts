import type { OrgNode } from '../org/entities/org-node.entity';
import { NodeVisibility } from '../org/entities/org-node.entity';
import { decideUser } from './decision';
import { OrgView, PermissionSnapshot, type PermDef, PermView } from './permission-snapshot';

/** Deterministic, so a failure names a world that can be rebuilt. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

function world(seed: number) {
  const random = rng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const nodes: OrgNode[] = [];
  const add = (id: number, kind: 'dept' | 'group', parent: OrgNode | null) => {
    const node: OrgNode = {
      id,
      kind,
      uid: `n${id}`,
      name: `n${id}`,
      remark: '',
      parentId: parent?.id ?? null,
      path: `${parent?.path ?? '/'}${id}/`,
      depth: parent ? parent.depth + 1 : 0,
      orderNo: id,
      top: kind === 'dept' ? 'dept' : 'role',
      visibility: NodeVisibility.Everyone,
      builtin: parent === null,
      acceptUser: true,
    };
    nodes.push(node);
    return node;
  };
  const roots = [add(1, 'dept', null), add(2, 'group', null)];
  for (let id = 3; id <= 40; id++) {
    const kind = random() < 0.5 ? 'dept' : 'group';
    add(id, kind, pick(nodes.filter((n) => n.kind === kind && n.depth < 5)) ?? roots[0]);
  }
  const users = Array.from({ length: 30 }, (_, i) => 100 + i);
  const memberships = users.flatMap((userId) =>
    Array.from({ length: Math.floor(random() * 3) }, () => ({ nodeId: pick(nodes).id, userId })),
  );
  const perms: PermDef[] = Array.from({ length: 12 }, (_, i) => ({
    id: i + 1,
    uid: `app_a${i}_access`,
    name: `p${i}`,
    remark: '',
    subject: 'app',
    scope: `a${i}`,
    action: 'access',
    appId: i + 1,
    defaultValue: random() < 0.2,
    editable: false,
  }));
  const status = () => (random() < 0.5 ? 1 : -1);
  const nodeStatuses = Array.from({ length: 60 }, () => ({
    permId: pick(perms).id,
    nodeId: pick(nodes).id,
    status: status(),
  }));
  const userStatuses = Array.from({ length: 30 }, () => ({
    permId: pick(perms).id,
    userId: pick(users),
    status: status(),
  }));
  const snapshot = new PermissionSnapshot(
    new OrgView(1, nodes, memberships),
    new PermView(1, perms, nodeStatuses, userStatuses),
  );
  return { snapshot, users, perms };
}

describe('permission snapshot', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'granted() and holders() agree with deciding every pair (world %i)',
    (seed) => {
      const { snapshot, users, perms } = world(seed);
      for (const userId of users) {
        const expected = perms
          .filter(
            (p) =>
              decideUser(snapshot.perms.assignmentsOf(p.id), userId, snapshot.org.membershipsOf(userId))
                .value,
          )
          .map((p) => p.uid)
          .sort();
        expect(snapshot.granted(userId).map((p) => p.uid)).toEqual(expected);
      }
      for (const perm of perms) {
        const expected = users.filter((id) => snapshot.decideUser(id, perm).value);
        expect(snapshot.holders(perm, users)).toEqual(expected);
      }
    },
  );

  it('ignores memberships of nodes it does not know (deleted meanwhile)', () => {
    const view = new OrgView(1, [], [{ nodeId: 99, userId: 1 }]);
    expect(view.membershipsOf(1)).toEqual([]);
  });
});
