/**
 * What an administrator may manage (contract §4.2), resolved once per admin request by the principal
 * guard and handed to services and repositories, so every admin read and write is filtered the same way.
 * The admin-scope room builds it; every other room only reads it through this interface.
 */

/**
 * A SQL boolean fragment for TypeORM query builders (`.andWhere(sql, params)`), with named parameters
 * (`:name`, `:...list`) whose names are unique per fragment, so several combine in one query.
 */
export interface SqlCondition {
  sql: string;
  params: Record<string, unknown>;
}

/** The built-in system permissions a sub-admin may hold, by uid. */
export type SystemPower =
  | 'system_user_create'
  | 'system_category_create'
  | 'system_app_create'
  | 'system_log_read'
  | 'system_config_write'
  | 'system_account_sync';

export const SYSTEM_POWERS: readonly SystemPower[] = [
  'system_user_create',
  'system_category_create',
  'system_app_create',
  'system_log_read',
  'system_config_write',
  'system_account_sync',
];

export interface AdminScope {
  /** A superuser: everything is under management and every power is held. */
  readonly unrestricted: boolean;
  /** A direct member of at least one sub-admin group (the `manager` role). */
  readonly isManager: boolean;
  /** System powers held (all of them when unrestricted). */
  readonly powers: ReadonlySet<SystemPower>;
  has(power: SystemPower): boolean;

  managesUser(userId: number): boolean;
  managesNode(nodeId: number): boolean;
  /** Managed, or an ancestor of a managed node (shown reduced, "forced visible"): what reads may show. */
  seesNode(nodeId: number): boolean;
  managesApp(appId: number): boolean;

  /**
   * Query-builder conditions over a column holding a user, node or app id, true for managed rows; an
   * unrestricted scope answers `1=1`. `column` is a trusted identifier written by the caller.
   */
  userCondition(column: string): SqlCondition;
  nodeCondition(column: string): SqlCondition;
  appCondition(column: string): SqlCondition;
}

/** The caller of an admin route: who (for creator-owned objects) and within what scope. */
export interface AdminActor {
  userId: number;
  scope: AdminScope;
}

const EVERYTHING: SqlCondition = { sql: '1=1', params: {} };

/** The scope of superusers, and of the CLI acting as the operator: everything, every power. */
export const UNRESTRICTED_SCOPE: AdminScope = {
  unrestricted: true,
  isManager: false,
  powers: new Set(SYSTEM_POWERS),
  has: () => true,
  managesUser: () => true,
  managesNode: () => true,
  seesNode: () => true,
  managesApp: () => true,
  userCondition: () => EVERYTHING,
  nodeCondition: () => EVERYTHING,
  appCondition: () => EVERYTHING,
};
