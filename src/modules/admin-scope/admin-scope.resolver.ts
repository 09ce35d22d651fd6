import { Injectable, type OnModuleInit } from '@nestjs/common';
import {
  type AdminScope,
  SYSTEM_POWERS,
  type SystemPower,
  UNRESTRICTED_SCOPE,
} from '../../common/guards/admin-scope';
import { AdminScopeLink, type AdminScopeView } from '../accounts/admin-scope.link';
import { UsersService } from '../accounts/users.service';
import { PermissionResolver } from '../permissions/permission-resolver.service';
import type { PermissionSnapshot } from '../permissions/permission-snapshot';
import { ScopeSubject } from './entities/manager-group.entity';
import { ManagerGroupsRepository } from './manager-groups.repository';
import { ResolvedScope, type ScopeOrg } from './resolved-scope';

/** The id of `g_manager`, the category holding the sub-admin groups (seeded by the org migration). */
export const MANAGER_CATEGORY_ID = 7;

/**
 * "What may this caller manage", answered per request from the current permission snapshot (node
 * paths, memberships, system permission values: real time, like every decision) and the caller's
 * sub-admin groups. Superusers are unrestricted without a query.
 */
@Injectable()
export class AdminScopeResolver implements AdminScopeView, OnModuleInit {
  constructor(
    private readonly link: AdminScopeLink,
    private readonly groups: ManagerGroupsRepository,
    private readonly permissions: PermissionResolver,
    private readonly users: UsersService,
  ) {}

  private groupIds: { version: number; ids: ReadonlySet<number> } | null = null;

  onModuleInit(): void {
    this.link.connect(this);
  }

  async resolve(user: { id: number; isAdmin: boolean }): Promise<AdminScope> {
    if (user.isAdmin) return UNRESTRICTED_SCOPE;
    const snapshot = await this.permissions.current();
    const org = scopeOrg(snapshot);
    const direct = org.directNodesOf(user.id);
    const groupIds = await this.managerGroupIds(snapshot);
    const mine = direct.filter((id) => groupIds.has(id));
    const powers = powersOf(snapshot, user.id);
    if (mine.length === 0) return emptyScope(powers, org);
    const [configs, superuserIds] = await Promise.all([
      this.groups.configsOf(mine),
      this.users.superuserIds(),
    ]);
    const rootIds = new Set<number>();
    const listedUserIds = new Set<number>();
    const appIds = new Set<number>();
    for (const config of configs) {
      config.appIds.forEach((id) => appIds.add(id));
      if (config.scopeSubject === ScopeSubject.Listed) {
        config.nodeIds.forEach((id) => rootIds.add(id));
        config.userIds.forEach((id) => listedUserIds.add(id));
      } else {
        // The members' own nodes, except the sub-admin groups themselves: no group manages its own powers.
        for (const id of direct) if (!isUnderManagerCategory(org, id)) rootIds.add(id);
      }
    }
    const roots = [...rootIds].flatMap((id) => {
      const path = org.pathOf(id);
      return path ? [{ id, path: `/${path.join('/')}/` }] : [];
    });
    return new ResolvedScope(
      { isManager: true, powers, roots, listedUserIds, appIds, superuserIds: new Set(superuserIds) },
      org,
    );
  }

  async rolesOf(user: {
    id: number;
    isAdmin: boolean;
  }): Promise<{ isManager: boolean; powers: SystemPower[] }> {
    if (user.isAdmin) return { isManager: false, powers: [...SYSTEM_POWERS] };
    const snapshot = await this.permissions.current();
    const groupIds = await this.managerGroupIds(snapshot);
    const isManager = scopeOrg(snapshot)
      .directNodesOf(user.id)
      .some((id) => groupIds.has(id));
    return { isManager, powers: [...powersOf(snapshot, user.id)] };
  }

  /**
   * Which nodes are sub-admin groups, kept per org version: every write that makes or unmakes one
   * (creating, configuring or deleting a node) bumps the org stamp in its transaction.
   */
  private async managerGroupIds(snapshot: PermissionSnapshot): Promise<ReadonlySet<number>> {
    const version = snapshot.org.version;
    if (this.groupIds && this.groupIds.version >= version) return this.groupIds.ids;
    const ids = new Set(await this.groups.allGroupIds());
    if (!this.groupIds || this.groupIds.version < version) this.groupIds = { version, ids };
    return ids;
  }
}

/** A caller in no sub-admin group: it manages nothing, but may hold system powers. */
function emptyScope(powers: ReadonlySet<SystemPower>, org: ScopeOrg): AdminScope {
  return new ResolvedScope(
    {
      isManager: false,
      powers,
      roots: [],
      listedUserIds: new Set(),
      appIds: new Set(),
      superuserIds: new Set(),
    },
    org,
  );
}

function scopeOrg(snapshot: PermissionSnapshot): ScopeOrg {
  return {
    pathOf: (nodeId) => snapshot.org.nodes.get(nodeId)?.membership.path,
    directNodesOf: (userId) => snapshot.org.membershipsOf(userId).map((m) => m.nodeId),
  };
}

function isUnderManagerCategory(org: ScopeOrg, nodeId: number): boolean {
  return (org.pathOf(nodeId) ?? []).includes(MANAGER_CATEGORY_ID);
}

function powersOf(snapshot: PermissionSnapshot, userId: number): Set<SystemPower> {
  const held = new Set<SystemPower>();
  for (const power of SYSTEM_POWERS) {
    const perm = snapshot.perm(power);
    if (perm && snapshot.decideUser(userId, perm).value) held.add(power);
  }
  return held;
}
