import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Request } from 'express';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { ChangeStamps } from '../../common/database/change-stamps';
import type { AdminScope } from '../../common/guards/admin-scope';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { type Page, pageRequest, toPage } from '../../common/pagination/pagination';
import { queryBool } from '../../common/http/query-params';
import { UserLifecycleHooks } from '../accounts/user-lifecycle.hooks';
import { UsersService } from '../accounts/users.service';
import { AuditService } from '../audit/audit.service';
import { type TaskTicketDto, TasksService } from '../jobs/tasks.service';
import type { NodeRoute } from '../org/node-uid';
import { refForRoute, uidBaseFromName } from '../org/node-uid';
import { OrgNodeHooks } from '../org/org-node.hooks';
import { OrgService } from '../org/org.service';
import type { DecisionSource, Status, UserDecision } from './decision';
import type { CreatePermDto, PatchOwnerPermsDto, PatchOwnersDto, UpdatePermDto } from './dto/perm-input.dto';
import { AppsRepository } from './apps.repository';
import { type OwnerResponse, type PermResponse, toPermResponse } from './permissions.mapper';
import { PermissionErrors } from './permissions.errors';
import { PermissionResolver } from './permission-resolver.service';
import type { PermDef, PermissionSnapshot, SnapshotNode } from './permission-snapshot';
import { type PermListFilter, PermsRepository, type StatusChange } from './perms.repository';

/** How many owners PermWithOwner shows per list (contract §2). */
const OWNERS_SHOWN = 20;
/** A recompute task's result lists at most this many held permission uids (the count is exact). */
const MAX_REPORTED_PERMS = 500;

/** `PUT user/{u}/perm/`: re-reads one user's permissions from the tables (ArkID's per-user recompute). */
export const RECOMPUTE_USER_PERMS_JOB = 'perm-recompute-user';

export interface OwnerList {
  count: number;
  has_more: boolean;
  results: OwnerResponse[];
}

export interface UserPermRow {
  perm: PermResponse;
  status: Status;
  dept_perm_value: boolean;
  group_perm_value: boolean;
  node_perm_value: boolean;
  value: boolean;
}

export interface SourceEntry {
  name: string;
  uid: string;
  node_uid: string | null;
  node_subject: string;
}

/** Sub-admins manage the permissions of the apps they manage; system permissions are never delegated. */
function managesPerm(scope: AdminScope, perm: { appId: number | null }): boolean {
  return scope.unrestricted || (perm.appId !== null && scope.managesApp(perm.appId));
}

function stringParam(query: Record<string, unknown>, key: string): string | undefined {
  const value = query[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function nodeSubject(node: SnapshotNode): string {
  return node.kind === 'dept' ? 'dept' : node.top;
}

function nodeUidOfSnapshot(node: SnapshotNode): string {
  return `${node.kind === 'dept' ? 'd' : 'g'}_${node.uid}`;
}

/**
 * Permissions and their assignments: CRUD, the owner lists, the owner-centred lists, and the
 * explained decisions. Every read answers from the resolver's current snapshot; every write bumps the
 * `perm` stamp inside its transaction.
 */
@Injectable()
export class PermsService implements OnModuleInit {
  constructor(
    private readonly perms: PermsRepository,
    private readonly apps: AppsRepository,
    private readonly resolver: PermissionResolver,
    private readonly users: UsersService,
    private readonly org: OrgService,
    private readonly userHooks: UserLifecycleHooks,
    private readonly nodeHooks: OrgNodeHooks,
    private readonly tx: TransactionRunner,
    private readonly stamps: ChangeStamps,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly tasks: TasksService,
  ) {}

  onModuleInit(): void {
    this.userHooks.onRemoved(async (manager, userId) => {
      if (await this.perms.removeUser(manager, userId)) await this.stamps.bump(manager, 'perm');
    });
    this.nodeHooks.onRemoved(async (manager, nodeId) => {
      if (await this.perms.removeNode(manager, nodeId)) await this.stamps.bump(manager, 'perm');
    });
  }

  // ---- for the admin-scope room ----

  /**
   * A sub-admin group's system powers: status 1 on the group for each listed system permission, no
   * assignment for the others. 400 `{"perms": "x not found"}` for anything that is not a system permission.
   */
  async setSystemPowersWithin(manager: EntityManager, nodeId: number, permUids: string[]): Promise<void> {
    const system = (await this.perms.allDefs(manager)).filter((p) => p.subject === 'system');
    const byUid = new Map(system.map((p) => [p.uid, p]));
    const unknown = permUids.filter((uid) => !byUid.has(uid) || uid === 'system_oneid_all');
    if (unknown.length > 0) throw PermissionErrors.systemPermsMissing(unknown);
    const wanted = new Set(permUids);
    await this.perms.setStatuses(
      manager,
      'node',
      system.map((p) => ({ permId: p.id, ownerId: nodeId, status: wanted.has(p.uid) ? 1 : 0 })),
    );
    await this.stamps.bump(manager, 'perm');
  }

  /** The system permissions each node holds explicitly (status 1), read inside the caller's transaction. */
  async systemPowersOf(
    nodeIds: number[],
    manager?: EntityManager,
  ): Promise<Map<number, { uid: string; name: string }[]>> {
    const result = new Map<number, { uid: string; name: string }[]>(nodeIds.map((id) => [id, []]));
    for (const row of await this.perms.systemPowersOfNodes(nodeIds, manager)) {
      result.get(row.nodeId)?.push({ uid: row.uid, name: row.name });
    }
    return result;
  }

  // ---- permissions ----

  metaSystemPerms(): Promise<{ uid: string; name: string }[]> {
    return this.resolver.current().then((snapshot) =>
      [...snapshot.perms.perms.values()]
        .filter((p) => p.subject === 'system')
        .sort((a, b) => a.id - b.id)
        .map((p) => ({ uid: p.uid, name: p.name })),
    );
  }

  /** Sub-admins list the permissions of the apps they manage (system permissions are never delegated). */
  async list(req: Request, query: Record<string, unknown>, scope: AdminScope): Promise<Page<object>> {
    const ownerSubject = stringParam(query, 'owner_subject') ?? 'all';
    const page = pageRequest(query);
    const [rows, count] = await this.perms.list(
      this.filterOf(query, false),
      page,
      scope.appCondition('p.app_id'),
    );
    const snapshot = await this.resolver.current();
    const defs = rows.flatMap((r) => snapshot.perms.perms.get(r.id) ?? []);
    return toPage(
      req,
      this.config.baseUrl,
      page,
      count,
      await this.withOwners(snapshot, defs, ownerSubject, scope),
    );
  }

  /** PermWithOwner: each permission with its first white- and black-listed owners. */
  async withOwners(
    snapshot: PermissionSnapshot,
    defs: readonly PermDef[],
    ownerSubject: string,
    scope: AdminScope,
  ): Promise<(PermResponse & { permit_owners: OwnerList; reject_owners: OwnerList })[]> {
    // Only the users shown need names.
    const names = await this.userNames(
      defs.flatMap((d) =>
        [1, -1].flatMap((s) => this.explicitUsers(snapshot, d, s as 1 | -1, scope).slice(0, OWNERS_SHOWN)),
      ),
    );
    return defs.map((def) => ({
      ...toPermResponse(def),
      permit_owners: this.ownerList(snapshot, def, 1, ownerSubject, names, scope),
      reject_owners: this.ownerList(snapshot, def, -1, ownerSubject, names, scope),
    }));
  }

  async create(dto: CreatePermDto, scope: AdminScope): Promise<PermResponse> {
    const base = await uidBaseFromName(dto.name);
    const action = base.replace(/[^a-z0-9-]/g, '').slice(0, 60) || 'perm';
    const created = await this.tx.run(async (manager) => {
      const app = await this.apps.findByUid(dto.scope, manager);
      // An app outside the caller's scope reads as unknown.
      if (!app || !scope.managesApp(app.id)) throw PermissionErrors.scopeNotFound();
      let uid = `app_${app.uid}_${action}`;
      // §4.7: append 1, 2, … until free; `access` belongs to the access permission.
      for (let n = 1; (await this.perms.uidTaken(uid, manager)) || uid === `app_${app.uid}_access`; n++) {
        uid = `app_${app.uid}_${action}${n}`;
      }
      const perm = await this.perms.insert(manager, {
        uid,
        name: dto.name,
        remark: dto.remark ?? '',
        subject: 'app',
        scope: app.uid,
        action: uid.slice(`app_${app.uid}_`.length),
        appId: app.id,
        defaultValue: false,
        editable: true,
      });
      await this.stamps.bump(manager, 'perm');
      await this.audit.record(manager, {
        subject: 'perm_create',
        summary: `创建权限 ${perm.name} (${perm.uid})`,
        targetAppId: app.id,
      });
      return perm;
    });
    return toPermResponse(created);
  }

  async detail(uid: string, scope: AdminScope): Promise<PermResponse> {
    return toPermResponse(await this.requirePerm(uid, scope));
  }

  async update(uid: string, dto: UpdatePermDto, scope: AdminScope): Promise<PermResponse> {
    await this.tx.run(async (manager) => {
      const perm = await this.perms.findByUid(uid, manager);
      if (!perm || !managesPerm(scope, perm)) throw PermissionErrors.notFound();
      if (!perm.editable) throw PermissionErrors.notEditable('permission');
      const changes: { name?: string; remark?: string } = {};
      if (dto.name !== undefined) changes.name = dto.name;
      if (dto.remark !== undefined) changes.remark = dto.remark;
      if (Object.keys(changes).length === 0) return;
      await this.perms.update(manager, perm.id, changes);
      await this.stamps.bump(manager, 'perm');
      await this.audit.record(manager, {
        subject: 'perm_update',
        summary: `修改权限 ${perm.uid}: ${Object.keys(changes).join(', ')}`,
        targetAppId: perm.appId,
      });
    });
    return this.detail(uid, scope);
  }

  async remove(uid: string, scope: AdminScope): Promise<void> {
    await this.tx.run(async (manager) => {
      const perm = await this.perms.findByUid(uid, manager);
      if (!perm || !managesPerm(scope, perm)) throw PermissionErrors.notFound();
      if (!perm.editable) throw PermissionErrors.notEditable('permission');
      await this.perms.delete(manager, [perm.id]);
      await this.stamps.bump(manager, 'perm');
      await this.audit.record(manager, {
        subject: 'perm_delete',
        summary: `删除权限 ${perm.name} (${perm.uid})`,
        targetAppId: perm.appId,
      });
    });
  }

  // ---- owners of one permission ----

  /**
   * `perm/{uid}/owner/`: with `value`, the owners whose final answer is that value, each with what
   * decided it; with `status`, the owners assigned exactly that status (0 = no assignment); with
   * neither, every explicitly assigned owner.
   */
  async owners(
    uid: string,
    req: Request,
    query: Record<string, unknown>,
    scope: AdminScope,
  ): Promise<Page<object>> {
    const ownerSubject = stringParam(query, 'owner_subject') ?? 'all';
    const rawStatus = stringParam(query, 'status');
    if (rawStatus !== undefined && !['-1', '0', '1'].includes(rawStatus)) throw PermissionErrors.badStatus();
    const status = rawStatus === undefined ? undefined : (Number(rawStatus) as Status);
    const value = query.value === undefined || query.value === '' ? undefined : queryBool(query, 'value');
    const page = pageRequest(query);
    const snapshot = await this.resolver.current();
    const perm = snapshot.perm(uid);
    if (!perm || !managesPerm(scope, perm)) throw PermissionErrors.notFound();
    const assignments = snapshot.perms.assignmentsOf(perm.id);

    const rows: { kind: 'user' | 'node'; id: number }[] = [];
    if (ownerSubject === 'all' || ownerSubject === 'user') {
      let ids: number[];
      if (value === true && status === undefined) ids = snapshot.holders(perm, await this.users.liveIds());
      else if (value === undefined && status !== undefined && status !== 0) {
        ids = [...assignments.userStatus].filter(([, s]) => s === status).map(([id]) => id);
      } else if (value === undefined && status === undefined) ids = [...assignments.userStatus.keys()];
      else {
        ids = (await this.users.liveIds()).filter(
          (id) =>
            (status === undefined || (assignments.userStatus.get(id) ?? 0) === status) &&
            (value === undefined || snapshot.decideUser(id, perm).value === value),
        );
      }
      rows.push(
        ...ids
          .filter((id) => scope.managesUser(id))
          .sort((a, b) => a - b)
          .map((id) => ({ kind: 'user' as const, id })),
      );
    }
    if (ownerSubject !== 'user') {
      const nodes = [...snapshot.org.nodes.values()]
        .filter((n) => ownerSubject === 'all' || nodeSubject(n) === ownerSubject)
        .filter((n) => scope.managesNode(n.id))
        .filter((n) => {
          const own = assignments.nodeStatus.get(n.id) ?? 0;
          if (status !== undefined && own !== status) return false;
          if (status === undefined && value === undefined && own === 0) return false;
          return value === undefined || snapshot.decideNode(n.id, perm).value === value;
        })
        .sort((a, b) => a.id - b.id);
      rows.push(...nodes.map((n) => ({ kind: 'node' as const, id: n.id })));
    }
    const slice = rows.slice(page.offset, page.offset + page.pageSize);
    const names = await this.userNames(slice.filter((r) => r.kind === 'user').map((r) => r.id));
    const results = slice.map((row) => {
      if (row.kind === 'node') {
        const node = snapshot.org.nodes.get(row.id) as SnapshotNode;
        const owner: Record<string, unknown> = {
          uid: nodeUidOfSnapshot(node),
          name: node.name,
          subject: nodeSubject(node),
        };
        if (value !== undefined) {
          const decision = snapshot.decideNode(row.id, perm);
          owner.value = decision.value;
          owner.source = this.sources(snapshot, [decision.source], names);
        }
        return owner;
      }
      const user = names.get(row.id);
      const owner: Record<string, unknown> = {
        uid: user?.username ?? '',
        name: user?.name ?? '',
        subject: 'user',
      };
      if (value !== undefined) {
        const decision = snapshot.decideUser(row.id, perm);
        owner.value = decision.value;
        owner.source = this.sources(snapshot, decision.sources, names);
      }
      return owner;
    });
    return toPage(req, this.config.baseUrl, page, rows.length, results);
  }

  /** `clean` first drops every assignment; then the listed owners get their statuses. One transaction. */
  /** Sub-admins assign only to owners they manage; `clean` then resets only those owners. */
  async patchOwners(uid: string, dto: PatchOwnersDto, scope: AdminScope): Promise<object> {
    const userItems = dto.user_perm_status ?? [];
    const nodeItems = dto.node_perm_status ?? [];
    await this.tx.run(async (manager) => {
      const perm = await this.perms.findByUid(uid, manager);
      if (!perm || !managesPerm(scope, perm)) throw PermissionErrors.notFound();
      const userIds = await this.userIdsByUsername(
        manager,
        'user_perm_status',
        userItems.map((i) => i.uid),
        scope,
      );
      const nodeIds = await this.nodeIdsByNodeUid(
        manager,
        'node_perm_status',
        nodeItems.map((i) => i.uid),
        scope,
      );
      if (dto.clean) await this.cleanWithin(manager, perm.id, scope);
      await this.perms.setStatuses(
        manager,
        'user',
        userItems.map((i) => ({ permId: perm.id, ownerId: userIds.get(i.uid) as number, status: i.status })),
      );
      await this.perms.setStatuses(
        manager,
        'node',
        nodeItems.map((i) => ({ permId: perm.id, ownerId: nodeIds.get(i.uid) as number, status: i.status })),
      );
      await this.stamps.bump(manager, 'perm');
      const owners = [...userItems, ...nodeItems].map((i) => `${i.uid}=${i.status}`);
      await this.audit.record(manager, {
        subject: 'perm_assign',
        summary: `配置权限 ${perm.uid}${dto.clean ? ' (clean)' : ''}: ${owners.join(', ')}`,
        targetAppId: perm.appId,
        targetUserId: userItems.length === 1 ? (userIds.get(userItems[0].uid) ?? null) : null,
        targetNodeId: nodeItems.length === 1 ? (nodeIds.get(nodeItems[0].uid) ?? null) : null,
      });
    });
    return {
      user_perm_status: userItems.map((i) => ({ uid: i.uid, status: i.status })),
      node_perm_status: nodeItems.map((i) => ({ uid: i.uid, status: i.status })),
    };
  }

  // ---- permissions of one owner ----

  /** `perm/user/{u}/`: every permission (filtered) with the user's status and values. */
  async userPerms(
    username: string,
    req: Request,
    query: Record<string, unknown>,
    scope: AdminScope,
  ): Promise<Page<UserPermRow>> {
    const user = await this.users.requireManagedByUsername(username, scope);
    return this.ownerPermsPage(req, query, scope, (snapshot, def) =>
      this.userPermRow(def, snapshot.decideUser(user.id, def)),
    );
  }

  async patchUserPerms(username: string, dto: PatchOwnerPermsDto, scope: AdminScope): Promise<UserPermRow[]> {
    const userId = await this.tx.run(async (manager) => {
      const user = await this.users.requireManagedByUsername(username, scope, manager);
      const changes = await this.statusChanges(manager, user.id, dto, scope);
      await this.perms.setStatuses(manager, 'user', changes);
      await this.stamps.bump(manager, 'perm');
      await this.audit.record(manager, {
        subject: 'perm_assign',
        summary: `配置用户 ${user.username} 的权限: ${dto.perm_statuses.map((i) => `${i.uid}=${i.status}`).join(', ')}`,
        targetUserId: user.id,
      });
      return user.id;
    });
    const snapshot = await this.resolver.current();
    return this.listedPerms(snapshot, dto).map((def) =>
      this.userPermRow(def, snapshot.decideUser(userId, def)),
    );
  }

  async nodePerms(
    route: NodeRoute,
    uid: string,
    req: Request,
    query: Record<string, unknown>,
    scope: AdminScope,
  ): Promise<Page<object>> {
    const node = await this.org.requireManagedNode(refForRoute(route, uid), scope);
    return this.ownerPermsPage(req, query, scope, (snapshot, def) => this.permResult(snapshot, def, node.id));
  }

  /** One owner's page of permissions (exact filters, the caller's apps only), each row rendered by `row`. */
  private async ownerPermsPage<T>(
    req: Request,
    query: Record<string, unknown>,
    scope: AdminScope,
    row: (snapshot: PermissionSnapshot, def: PermDef) => T,
  ): Promise<Page<T>> {
    const page = pageRequest(query);
    const [rows, count] = await this.perms.list(
      this.filterOf(query, true),
      page,
      scope.appCondition('p.app_id'),
    );
    const snapshot = await this.resolver.current();
    const results = rows.flatMap((r) => {
      const def = snapshot.perms.perms.get(r.id);
      return def ? [row(snapshot, def)] : [];
    });
    return toPage(req, this.config.baseUrl, page, count, results);
  }

  async patchNodePerms(
    route: NodeRoute,
    uid: string,
    dto: PatchOwnerPermsDto,
    scope: AdminScope,
  ): Promise<object[]> {
    const nodeId = await this.tx.run(async (manager) => {
      const node = await this.org.requireManagedNode(refForRoute(route, uid), scope, manager);
      const changes = await this.statusChanges(manager, node.id, dto, scope);
      await this.perms.setStatuses(manager, 'node', changes);
      await this.stamps.bump(manager, 'perm');
      await this.audit.record(manager, {
        subject: 'perm_assign',
        summary: `配置节点 ${uid} 的权限: ${dto.perm_statuses.map((i) => `${i.uid}=${i.status}`).join(', ')}`,
        targetNodeId: node.id,
      });
      return node.id;
    });
    const snapshot = await this.resolver.current();
    return this.listedPerms(snapshot, dto).map((def) => this.permResult(snapshot, def, nodeId));
  }

  // ---- recompute (ArkID's `PUT user/{u}/perm/`) ----

  /**
   * Queues the recompute of one user's permissions (admins). Decisions are evaluated when read, so
   * there are no stored values to fix; the task makes every replica rebuild its view from the tables
   * and reports what the user holds then. A second request while one is queued returns that task.
   */
  async queueRecompute(username: string, scope: AdminScope): Promise<TaskTicketDto> {
    const user = await this.users.requireManagedByUsername(username, scope);
    return this.tasks.ticket(RECOMPUTE_USER_PERMS_JOB, { user_id: user.id }, String(user.id));
  }

  /**
   * The recompute task: the org and perm stamps move (so every replica's next decision reloads both
   * from the tables, whatever it had cached), then the user's permissions are decided on a fresh
   * snapshot. null when the user is gone.
   */
  async recomputeUser(
    userId: number,
  ): Promise<{ username: string; perm_count: number; held_count: number; held: string[] } | null> {
    const user = await this.users.findLiveById(userId);
    if (!user) return null;
    await this.tx.run(async (manager) => {
      await this.stamps.bump(manager, 'org');
      await this.stamps.bump(manager, 'perm');
    });
    const snapshot = await this.resolver.current();
    const held = snapshot.granted(user.id).map((perm) => perm.uid);
    return {
      username: user.username,
      perm_count: snapshot.permCount(),
      held_count: held.length,
      held: held.slice(0, MAX_REPORTED_PERMS),
    };
  }

  // ---- one explained decision ----

  /** UserPermDetail: the user's values for one permission and what decided them. */
  async userPermDetail(
    username: string,
    permUid: string,
    scope: AdminScope,
  ): Promise<UserPermRow & { source: SourceEntry[] }> {
    const { user, perm, decision, snapshot } = await this.decisionOf(username, permUid, scope);
    const names = new Map([[user.id, { username: user.username, name: user.name }]]);
    return { ...this.userPermRow(perm, decision), source: this.sources(snapshot, decision.sources, names) };
  }

  async userPermResult(username: string, permUid: string, scope: AdminScope): Promise<UserPermRow> {
    const { perm, decision } = await this.decisionOf(username, permUid, scope);
    return this.userPermRow(perm, decision);
  }

  private async decisionOf(username: string, permUid: string, scope: AdminScope) {
    const user = await this.users.requireManagedByUsername(username, scope);
    const snapshot = await this.resolver.current();
    const perm = snapshot.perm(permUid);
    if (!perm || !managesPerm(scope, perm)) throw PermissionErrors.notFound();
    return { user, perm, snapshot, decision: snapshot.decideUser(user.id, perm) };
  }

  // ---- helpers ----

  userPermRow(perm: PermDef, decision: UserDecision): UserPermRow {
    return {
      perm: toPermResponse(perm),
      status: decision.status,
      dept_perm_value: decision.deptValue,
      group_perm_value: decision.groupValue,
      node_perm_value: decision.deptValue || decision.groupValue,
      value: decision.value,
    };
  }

  private permResult(snapshot: PermissionSnapshot, perm: PermDef, nodeId: number): object {
    const decision = snapshot.decideNode(nodeId, perm);
    return { perm: toPermResponse(perm), status: decision.status, value: decision.value, locked: false };
  }

  private filterOf(query: Record<string, unknown>, exact: boolean): PermListFilter {
    return {
      subject: stringParam(query, 'subject'),
      name: exact ? undefined : stringParam(query, 'name'),
      scope: stringParam(query, 'scope'),
      action: stringParam(query, 'action'),
      actionExcept: stringParam(query, 'action_except'),
      exact,
    };
  }

  private async requirePerm(uid: string, scope: AdminScope): Promise<PermDef> {
    const perm = (await this.resolver.current()).perm(uid);
    if (!perm || !managesPerm(scope, perm)) throw PermissionErrors.notFound();
    return perm;
  }

  /** `clean`: every assignment of the permission back to 0, only among the owners the caller manages. */
  private async cleanWithin(manager: EntityManager, permId: number, scope: AdminScope): Promise<void> {
    if (scope.unrestricted) {
      await this.perms.clear(manager, permId);
      return;
    }
    const snapshot = await this.resolver.current();
    const assignments = snapshot.perms.assignmentsOf(permId);
    await this.perms.setStatuses(
      manager,
      'user',
      [...assignments.userStatus.keys()]
        .filter((id) => scope.managesUser(id))
        .map((ownerId) => ({ permId, ownerId, status: 0 })),
    );
    await this.perms.setStatuses(
      manager,
      'node',
      [...assignments.nodeStatus.keys()]
        .filter((id) => scope.managesNode(id))
        .map((ownerId) => ({ permId, ownerId, status: 0 })),
    );
  }

  /** The listed permissions must all exist: otherwise 400 naming them, and nothing is written. */
  private async statusChanges(
    manager: EntityManager,
    ownerId: number,
    dto: PatchOwnerPermsDto,
    scope: AdminScope,
  ): Promise<StatusChange[]> {
    const changes: StatusChange[] = [];
    const missing: string[] = [];
    const foreign: string[] = [];
    for (const item of dto.perm_statuses) {
      const perm = await this.perms.findByUid(item.uid, manager);
      if (!perm) missing.push(item.uid);
      else if (!managesPerm(scope, perm)) foreign.push(item.uid);
      else changes.push({ permId: perm.id, ownerId, status: item.status });
    }
    if (missing.length > 0) throw PermissionErrors.permsMissing(missing);
    if (foreign.length > 0) throw PermissionErrors.permsOutOfScope(foreign);
    return changes;
  }

  private listedPerms(snapshot: PermissionSnapshot, dto: PatchOwnerPermsDto): PermDef[] {
    const seen = new Set<string>();
    return dto.perm_statuses.flatMap((item) => {
      const def = snapshot.perm(item.uid);
      if (!def || seen.has(item.uid)) return [];
      seen.add(item.uid);
      return [def];
    });
  }

  private async userIdsByUsername(
    manager: EntityManager,
    field: string,
    usernames: string[],
    scope: AdminScope,
  ): Promise<Map<string, number>> {
    const unique = [...new Set(usernames)];
    // Users outside the caller's scope read as unknown: `invalid uid`.
    const found = (await this.users.findLiveByUsernames(unique, manager)).filter((u) =>
      scope.managesUser(u.id),
    );
    const byName = new Map(found.map((u) => [u.username, u.id]));
    const missing = unique.filter((u) => !byName.has(u));
    if (missing.length > 0) throw PermissionErrors.invalidOwners(field, missing);
    return byName;
  }

  private async nodeIdsByNodeUid(
    manager: EntityManager,
    field: string,
    nodeUids: string[],
    scope: AdminScope,
  ): Promise<Map<string, number>> {
    const unique = [...new Set(nodeUids)];
    const found = new Map<string, number>();
    const missing: string[] = [];
    for (const nodeUid of unique) {
      const node = await this.org.findByNodeUid(nodeUid, manager);
      if (node && scope.managesNode(node.id)) found.set(nodeUid, node.id);
      else missing.push(nodeUid);
    }
    if (missing.length > 0) throw PermissionErrors.invalidOwners(field, missing);
    return found;
  }

  private async userNames(ids: number[]): Promise<Map<number, { username: string; name: string }>> {
    const unique = [...new Set(ids)];
    const users = await this.users.findLiteByIds(unique);
    return new Map(users.map((u) => [u.id, { username: u.username, name: u.name }]));
  }

  private explicitUsers(
    snapshot: PermissionSnapshot,
    perm: PermDef,
    status: 1 | -1,
    scope: AdminScope,
  ): number[] {
    const statuses = snapshot.perms.assignmentsOf(perm.id).userStatus;
    return [...statuses]
      .filter(([id, s]) => s === status && scope.managesUser(id))
      .map(([id]) => id)
      .sort((a, b) => a - b);
  }

  private ownerList(
    snapshot: PermissionSnapshot,
    perm: PermDef,
    status: 1 | -1,
    ownerSubject: string,
    names: Map<number, { username: string; name: string }>,
    scope: AdminScope,
  ): OwnerList {
    const users =
      ownerSubject === 'all' || ownerSubject === 'user'
        ? this.explicitUsers(snapshot, perm, status, scope)
        : [];
    const nodes: OwnerResponse[] = [];
    if (ownerSubject !== 'user') {
      const ids = [...snapshot.perms.assignmentsOf(perm.id).nodeStatus]
        .filter(([id, s]) => s === status && scope.managesNode(id))
        .map(([id]) => id)
        .sort((a, b) => a - b);
      for (const id of ids) {
        const node = snapshot.org.nodes.get(id);
        if (node && (ownerSubject === 'all' || nodeSubject(node) === ownerSubject)) {
          nodes.push({ uid: nodeUidOfSnapshot(node), name: node.name, subject: nodeSubject(node) });
        }
      }
    }
    const shownUsers = users.slice(0, OWNERS_SHOWN).flatMap((id) => {
      const user = names.get(id);
      return user ? [{ uid: user.username, name: user.name, subject: 'user' }] : [];
    });
    const count = users.length + nodes.length;
    return {
      count,
      has_more: count > OWNERS_SHOWN,
      results: [...shownUsers, ...nodes].slice(0, OWNERS_SHOWN),
    };
  }

  /** UserPermDetail `source`: the user itself, the deciding nodes, or the permission's default. */
  private sources(
    snapshot: PermissionSnapshot,
    sources: readonly DecisionSource[],
    names: Map<number, { username: string; name: string }>,
  ): SourceEntry[] {
    return sources.map((source) => {
      if (source.kind === 'node') {
        const node = snapshot.org.nodes.get(source.nodeId) as SnapshotNode;
        return {
          name: node.name,
          uid: node.uid,
          node_uid: nodeUidOfSnapshot(node),
          node_subject: nodeSubject(node),
        };
      }
      if (source.kind === 'user') {
        const user = names.get(source.userId);
        return { name: user?.name ?? '', uid: user?.username ?? '', node_uid: null, node_subject: 'user' };
      }
      return { name: 'default', uid: 'default', node_uid: null, node_subject: 'default' };
    });
  }
}
