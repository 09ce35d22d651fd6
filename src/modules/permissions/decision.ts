/**
 * The permission decision (README "Permissions"), as pure functions over one permission's assignments.
 *
 * - A node's value is its own status when that is not 0 (1 allow, -1 deny); otherwise its parent's value;
 *   a root without a status takes the permission's default. So the nearest explicit status on the way up
 *   decides, and that node is the source.
 * - A user's value is its own status when that is not 0; otherwise true when any node it directly belongs
 *   to has the value true (allow wins across memberships); otherwise the permission's default.
 *
 * Paths come from the materialized paths of the org tree (root first, node last), so a decision reads
 * at most depth entries per membership and never queries.
 */
export type Status = -1 | 0 | 1;

export interface PermAssignments {
  defaultValue: boolean;
  /** Non-zero statuses only. */
  nodeStatus: ReadonlyMap<number, Status>;
  userStatus: ReadonlyMap<number, Status>;
}

export type DecisionSource =
  { kind: 'user'; userId: number } | { kind: 'node'; nodeId: number } | { kind: 'default' };

export interface NodeDecision {
  value: boolean;
  /** The node's own status. */
  status: Status;
  source: DecisionSource;
}

export interface Membership {
  nodeId: number;
  kind: 'dept' | 'group';
  /** Ids from the root down to the node itself. */
  path: readonly number[];
}

export interface UserDecision {
  value: boolean;
  /** The user's own status. */
  status: Status;
  deptValue: boolean;
  groupValue: boolean;
  /**
   * What decided: the user's own status; else the nodes whose explicit status granted (the nearest on
   * each membership's way up); else, for a refusal, the nodes that refused; else the default.
   */
  sources: DecisionSource[];
}

export function decideNode(perm: PermAssignments, path: readonly number[]): NodeDecision {
  const own = path.length > 0 ? (perm.nodeStatus.get(path[path.length - 1]) ?? 0) : 0;
  for (let i = path.length - 1; i >= 0; i--) {
    const status = perm.nodeStatus.get(path[i]);
    if (status === 1 || status === -1) {
      return { value: status === 1, status: own, source: { kind: 'node', nodeId: path[i] } };
    }
  }
  return { value: perm.defaultValue, status: own, source: { kind: 'default' } };
}

export function decideUser(
  perm: PermAssignments,
  userId: number,
  memberships: readonly Membership[],
): UserDecision {
  const status = perm.userStatus.get(userId) ?? 0;
  let deptValue = false;
  let groupValue = false;
  const granting = new Map<number, DecisionSource>();
  const denying = new Map<number, DecisionSource>();
  let grantedByDefault = false;
  for (const membership of memberships) {
    const node = decideNode(perm, membership.path);
    if (!node.value) {
      if (node.source.kind === 'node') denying.set(node.source.nodeId, node.source);
      continue;
    }
    if (membership.kind === 'dept') deptValue = true;
    else groupValue = true;
    if (node.source.kind === 'node') granting.set(node.source.nodeId, node.source);
    else grantedByDefault = true;
  }
  if (status !== 0) {
    return { value: status === 1, status, deptValue, groupValue, sources: [{ kind: 'user', userId }] };
  }
  if (deptValue || groupValue) {
    const sources: DecisionSource[] = [...granting.values()];
    if (grantedByDefault) sources.push({ kind: 'default' });
    return { value: true, status, deptValue, groupValue, sources };
  }
  // No membership grants: the default decides; when it says no, the black lists that said no explain why.
  const sources: DecisionSource[] =
    !perm.defaultValue && denying.size > 0 ? [...denying.values()] : [{ kind: 'default' }];
  return { value: perm.defaultValue, status, deptValue, groupValue, sources };
}
