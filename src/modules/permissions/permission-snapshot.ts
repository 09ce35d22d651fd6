import type { OrgNode } from '../org/entities/org-node.entity';
import {
  decideNode,
  decideUser,
  type Membership,
  type NodeDecision,
  type PermAssignments,
  type Status,
  type UserDecision,
} from './decision';

const EXTERN_GROUP_UID = 'extern';

/**
 * How many users' granted() lists one snapshot keeps: enough for the users active between two writes,
 * small enough (about 1 KB each) to stay far below the snapshot itself.
 */
const GRANTED_MEMO_USERS = 10_000;

/** What a decision needs to know about a permission. */
export interface PermDef {
  id: number;
  uid: string;
  name: string;
  remark: string;
  subject: string;
  scope: string;
  action: string;
  appId: number | null;
  defaultValue: boolean;
  editable: boolean;
}

export interface SnapshotNode {
  id: number;
  kind: 'dept' | 'group';
  uid: string;
  name: string;
  top: string;
  membership: Membership;
}

/** The org half of the snapshot: every node with its path, every user's direct nodes. */
export class OrgView {
  readonly nodes = new Map<number, SnapshotNode>();
  private readonly directNodes = new Map<number, number[]>();
  /** The built-in `g_extern` group (kind + uid is unique, and built-in nodes cannot be renamed). */
  private readonly externNodeId: number | null = null;

  constructor(
    readonly version: number,
    nodes: readonly OrgNode[],
    memberships: readonly { nodeId: number; userId: number }[],
  ) {
    for (const n of nodes) {
      const path = n.path.split('/').filter(Boolean).map(Number);
      this.nodes.set(n.id, {
        id: n.id,
        kind: n.kind,
        uid: n.uid,
        name: n.name,
        top: n.top,
        membership: { nodeId: n.id, kind: n.kind, path },
      });
      if (n.kind === 'group' && n.uid === EXTERN_GROUP_UID) this.externNodeId = n.id;
    }
    for (const m of memberships) {
      if (!this.nodes.has(m.nodeId)) continue;
      const list = this.directNodes.get(m.userId);
      if (list) list.push(m.nodeId);
      else this.directNodes.set(m.userId, [m.nodeId]);
    }
  }

  membershipsOf(userId: number): Membership[] {
    return (this.directNodes.get(userId) ?? []).map((id) => (this.nodes.get(id) as SnapshotNode).membership);
  }

  /** Whether the user belongs directly to `g_extern` (UserWithPerm `is_extern_user`). */
  isExternUser(userId: number): boolean {
    return this.externNodeId !== null && (this.directNodes.get(userId) ?? []).includes(this.externNodeId);
  }

  /** Users with at least one membership, and their direct nodes. */
  usersWithMemberships(): IterableIterator<[number, number[]]> {
    return this.directNodes.entries();
  }
}

/** The permission half: every permission and every explicit assignment, indexed both ways. */
export class PermView {
  readonly perms = new Map<number, PermDef>();
  readonly byUid = new Map<string, PermDef>();
  private readonly assignments = new Map<number, PermAssignments>();
  /** Which permissions an owner has an explicit status for. */
  private readonly permsOfNode = new Map<number, number[]>();
  private readonly permsOfUser = new Map<number, number[]>();
  private readonly defaultTrue: number[] = [];

  constructor(
    readonly version: number,
    perms: readonly PermDef[],
    nodeStatuses: readonly { permId: number; nodeId: number; status: number }[],
    userStatuses: readonly { permId: number; userId: number; status: number }[],
  ) {
    for (const p of perms) {
      this.perms.set(p.id, p);
      this.byUid.set(p.uid, p);
      this.assignments.set(p.id, {
        defaultValue: p.defaultValue,
        nodeStatus: new Map(),
        userStatus: new Map(),
      });
      if (p.defaultValue) this.defaultTrue.push(p.id);
    }
    const add = (index: Map<number, number[]>, owner: number, permId: number) => {
      const list = index.get(owner);
      if (list) list.push(permId);
      else index.set(owner, [permId]);
    };
    for (const s of nodeStatuses) {
      const a = this.assignments.get(s.permId);
      if (!a || (s.status !== 1 && s.status !== -1)) continue;
      (a.nodeStatus as Map<number, Status>).set(s.nodeId, s.status);
      add(this.permsOfNode, s.nodeId, s.permId);
    }
    for (const s of userStatuses) {
      const a = this.assignments.get(s.permId);
      if (!a || (s.status !== 1 && s.status !== -1)) continue;
      (a.userStatus as Map<number, Status>).set(s.userId, s.status);
      add(this.permsOfUser, s.userId, s.permId);
    }
  }

  assignmentsOf(permId: number): PermAssignments {
    const found = this.assignments.get(permId);
    if (!found) throw new Error(`permission ${permId} is not in the snapshot`);
    return found;
  }

  /** Permissions whose answer for this user may differ from false: the only ones worth evaluating. */
  candidatesFor(userId: number, memberships: readonly Membership[]): Set<number> {
    const candidates = new Set<number>(this.defaultTrue);
    for (const id of this.permsOfUser.get(userId) ?? []) candidates.add(id);
    for (const m of memberships) {
      for (const nodeId of m.path) for (const id of this.permsOfNode.get(nodeId) ?? []) candidates.add(id);
    }
    return candidates;
  }
}

/** One consistent reading of the org and the permissions, answering any number of decisions. */
export class PermissionSnapshot {
  /**
   * granted() per user. Both views are immutable, so an entry is right for as long as this snapshot is
   * served; a write moves a stamp, which brings a new snapshot and with it an empty memo.
   */
  private readonly grantedMemo = new Map<number, readonly PermDef[]>();

  constructor(
    readonly org: OrgView,
    readonly perms: PermView,
  ) {}

  perm(uid: string): PermDef | undefined {
    return this.perms.byUid.get(uid);
  }

  /** How many permissions are defined. */
  permCount(): number {
    return this.perms.byUid.size;
  }

  decideUser(userId: number, perm: PermDef): UserDecision {
    return decideUser(this.perms.assignmentsOf(perm.id), userId, this.org.membershipsOf(userId));
  }

  /** A node's value; an unknown node (deleted meanwhile) has no path and gets the default. */
  decideNode(nodeId: number, perm: PermDef): NodeDecision {
    const node = this.org.nodes.get(nodeId);
    return decideNode(this.perms.assignmentsOf(perm.id), node ? node.membership.path : []);
  }

  /** Every permission the user holds, by uid order; a new array the caller may sort or change. */
  granted(userId: number): PermDef[] {
    let held = this.grantedMemo.get(userId);
    if (held) {
      // Re-inserting keeps the memo's order least recently used first, so eviction drops idle users.
      this.grantedMemo.delete(userId);
    } else {
      held = this.computeGranted(userId);
      if (this.grantedMemo.size >= GRANTED_MEMO_USERS) {
        const idlest = this.grantedMemo.keys().next();
        if (!idlest.done) this.grantedMemo.delete(idlest.value);
      }
    }
    this.grantedMemo.set(userId, held);
    return [...held];
  }

  private computeGranted(userId: number): PermDef[] {
    const memberships = this.org.membershipsOf(userId);
    const held: PermDef[] = [];
    for (const id of this.perms.candidatesFor(userId, memberships)) {
      const perm = this.perms.perms.get(id) as PermDef;
      if (decideUser(this.perms.assignmentsOf(id), userId, memberships).value) held.push(perm);
    }
    return held.sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
  }

  /**
   * The users holding the permission among `liveUserIds` (ascending), without evaluating each one when
   * the default is false: only white-listed users and members of granting nodes can hold it then.
   */
  holders(perm: PermDef, liveUserIds: readonly number[]): number[] {
    const assignments = this.perms.assignmentsOf(perm.id);
    if (perm.defaultValue) {
      return liveUserIds.filter((id) => decideUser(assignments, id, this.org.membershipsOf(id)).value);
    }
    const live = new Set(liveUserIds);
    const found = new Set<number>();
    for (const [userId, status] of assignments.userStatus)
      if (status === 1 && live.has(userId)) found.add(userId);
    const nodeValue = new Map<number, boolean>();
    for (const [userId, nodeIds] of this.org.usersWithMemberships()) {
      if (found.has(userId) || assignments.userStatus.get(userId) === -1 || !live.has(userId)) continue;
      for (const nodeId of nodeIds) {
        let value = nodeValue.get(nodeId);
        if (value === undefined) {
          value = this.decideNode(nodeId, perm).value;
          nodeValue.set(nodeId, value);
        }
        if (value) {
          found.add(userId);
          break;
        }
      }
    }
    return [...found].sort((a, b) => a - b);
  }
}
