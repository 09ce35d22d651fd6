import type { AdminScope, SqlCondition, SystemPower } from '../../common/guards/admin-scope';

/** What the scope needs from the org: each node's path (root first, the node last) and users' direct nodes. */
export interface ScopeOrg {
  pathOf(nodeId: number): readonly number[] | undefined;
  directNodesOf(userId: number): readonly number[];
}

/** The pieces a scope is made of, gathered from the caller's sub-admin groups (contract §4.2). */
export interface ScopeParts {
  isManager: boolean;
  powers: ReadonlySet<SystemPower>;
  /** Nodes whose whole subtrees are managed, with their materialized paths. */
  roots: readonly { id: number; path: string }[];
  /** Users managed by name (scope 2 `users`). */
  listedUserIds: ReadonlySet<number>;
  appIds: ReadonlySet<number>;
  /** Superusers are never managed by a sub-admin. */
  superuserIds: ReadonlySet<number>;
}

const FALSE: SqlCondition = { sql: '1=0', params: {} };
/** Parameter names must not collide when several conditions meet in one query. */
let parameterSeq = 0;
function parameterName(): string {
  parameterSeq = (parameterSeq + 1) % 1_000_000_000;
  return `scope${parameterSeq}`;
}

/**
 * A sub-admin's (or a power holder's) scope: a node is managed when it or an ancestor is a root; a user
 * when it is listed or directly belongs to a managed node, and is not a superuser; an app when listed.
 */
export class ResolvedScope implements AdminScope {
  readonly unrestricted = false;
  readonly isManager: boolean;
  readonly powers: ReadonlySet<SystemPower>;
  private readonly rootIds: ReadonlySet<number>;
  private readonly ancestorIds = new Set<number>();

  constructor(
    private readonly parts: ScopeParts,
    private readonly org: ScopeOrg,
  ) {
    this.isManager = parts.isManager;
    this.powers = parts.powers;
    this.rootIds = new Set(parts.roots.map((r) => r.id));
    for (const root of parts.roots) for (const id of org.pathOf(root.id) ?? []) this.ancestorIds.add(id);
  }

  has(power: SystemPower): boolean {
    return this.powers.has(power);
  }

  managesNode(nodeId: number): boolean {
    const path = this.org.pathOf(nodeId);
    return path !== undefined && path.some((id) => this.rootIds.has(id));
  }

  seesNode(nodeId: number): boolean {
    return this.ancestorIds.has(nodeId) || this.managesNode(nodeId);
  }

  managesUser(userId: number): boolean {
    if (this.parts.superuserIds.has(userId)) return false;
    if (this.parts.listedUserIds.has(userId)) return true;
    return this.org.directNodesOf(userId).some((nodeId) => this.managesNode(nodeId));
  }

  managesApp(appId: number): boolean {
    return this.parts.appIds.has(appId);
  }

  nodeCondition(column: string): SqlCondition {
    const subtrees = this.subtreeSql('sn');
    if (!subtrees) return FALSE;
    return {
      sql: `${column} IN (SELECT sn.id FROM org_nodes sn WHERE ${subtrees.sql})`,
      params: subtrees.params,
    };
  }

  userCondition(column: string): SqlCondition {
    const parts: string[] = [];
    let params: Record<string, unknown> = {};
    if (this.parts.listedUserIds.size > 0) {
      const name = parameterName();
      parts.push(`${column} IN (:...${name})`);
      params[name] = [...this.parts.listedUserIds];
    }
    const subtrees = this.subtreeSql('sn');
    if (subtrees) {
      parts.push(
        `${column} IN (SELECT sm.user_id FROM org_memberships sm JOIN org_nodes sn ON sn.id = sm.node_id WHERE ${subtrees.sql})`,
      );
      params = { ...params, ...subtrees.params };
    }
    if (parts.length === 0) return FALSE;
    return {
      sql: `((${parts.join(' OR ')}) AND ${column} NOT IN (SELECT su.id FROM users su WHERE su.is_admin = 1))`,
      params,
    };
  }

  appCondition(column: string): SqlCondition {
    if (this.parts.appIds.size === 0) return FALSE;
    const name = parameterName();
    return { sql: `${column} IN (:...${name})`, params: { [name]: [...this.parts.appIds] } };
  }

  /** Path ranges of the managed subtrees over an `org_nodes` alias (ids are digits; '/' sorts below '0'). */
  private subtreeSql(alias: string): SqlCondition | null {
    if (this.parts.roots.length === 0) return null;
    const params: Record<string, unknown> = {};
    const ranges = this.parts.roots.map((root) => {
      const lower = parameterName();
      const upper = parameterName();
      params[lower] = root.path;
      params[upper] = `${root.path.slice(0, -1)}0`;
      return `(${alias}.path >= :${lower} AND ${alias}.path < :${upper})`;
    });
    return { sql: `(${ranges.join(' OR ')})`, params };
  }
}
