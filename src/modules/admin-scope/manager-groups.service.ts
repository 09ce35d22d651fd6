import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { fieldError } from '../../common/errors/domain-error';
import { UserLifecycleHooks } from '../accounts/user-lifecycle.hooks';
import { UsersService } from '../accounts/users.service';
import type { ManagerGroupInputDto } from '../org/dto/node-input.dto';
import type { OrgNode } from '../org/entities/org-node.entity';
import { OrgMembershipsService } from '../org/memberships.service';
import { nodeUidOf } from '../org/node-uid';
import { type NodeExtension, OrgNodeHooks } from '../org/org-node.hooks';
import { OrgService } from '../org/org.service';
import { AppLifecycleHooks, type AppHooksListener } from '../permissions/app-lifecycle.hooks';
import { AppsService } from '../permissions/apps.service';
import { PermsService } from '../permissions/perms.service';
import { MANAGER_CATEGORY_ID } from './admin-scope.resolver';
import { ScopeSubject } from './entities/manager-group.entity';
import { type ManagerGroupConfig, ManagerGroupsRepository } from './manager-groups.repository';

/**
 * Sub-admin groups (contract §3.6): children of `g_manager` carrying a ManagerGroup. Their settings are
 * written with the node, in its transaction; their system powers are status-1 assignments on the group.
 * New categories and apps get their creator's group automatically.
 */
@Injectable()
export class ManagerGroupsService implements OnModuleInit, NodeExtension, AppHooksListener {
  constructor(
    private readonly groups: ManagerGroupsRepository,
    private readonly org: OrgService,
    private readonly memberships: OrgMembershipsService,
    private readonly users: UsersService,
    private readonly apps: AppsService,
    private readonly perms: PermsService,
    private readonly nodeHooks: OrgNodeHooks,
    private readonly appHooks: AppLifecycleHooks,
    private readonly userHooks: UserLifecycleHooks,
  ) {}

  onModuleInit(): void {
    this.nodeHooks.extend(this);
    this.nodeHooks.onRemoved((manager, nodeId) => this.groups.forgetNode(manager, nodeId));
    this.userHooks.onRemoved((manager, userId) => this.groups.forgetUser(manager, userId));
    this.appHooks.listen(this);
  }

  isManagerGroup(node: OrgNode): boolean {
    return node.parentId === MANAGER_CATEGORY_ID;
  }

  async writeManagerGroup(
    manager: EntityManager,
    node: OrgNode,
    input: ManagerGroupInputDto | undefined,
    created: boolean,
  ): Promise<void> {
    if (!input && !created) return;
    const [current] = created ? [] : await this.groups.configsOf([node.id], manager);
    const config: ManagerGroupConfig = current ?? {
      nodeId: node.id,
      scopeSubject: ScopeSubject.OwnNodes,
      nodeIds: [],
      userIds: [],
      appIds: [],
    };
    if (input?.scope_subject !== undefined) config.scopeSubject = input.scope_subject;
    if (input?.nodes !== undefined) {
      config.nodeIds = (await this.org.resolveListed('nodes', input.nodes, 'node', null, manager)).map(
        (n) => n.id,
      );
    }
    if (input?.users !== undefined) {
      const ids = await this.users.liveIdsByUsername(input.users, manager);
      const missing = input.users.filter((u) => !ids.has(u));
      if (missing.length > 0) throw usersMissing(missing);
      config.userIds = [...ids.values()];
    }
    if (input?.apps !== undefined) {
      config.appIds = [...(await this.apps.requireIdsByUid(input.apps, manager)).values()];
    }
    await this.groups.save(manager, config);
    if (input?.perms !== undefined) await this.perms.setSystemPowersWithin(manager, node.id, input.perms);
  }

  async describe(
    nodes: readonly OrgNode[],
    manager?: EntityManager,
  ): Promise<Map<number, Record<string, unknown>>> {
    const groups = nodes.filter((n) => this.isManagerGroup(n));
    const described = new Map<number, Record<string, unknown>>();
    if (groups.length === 0) return described;
    const ids = groups.map((g) => g.id);
    const configs = new Map((await this.groups.configsOf(ids, manager)).map((c) => [c.nodeId, c]));
    const listedNodes = await this.org.findByIds(
      [...configs.values()].flatMap((c) => c.nodeIds),
      manager,
    );
    const nodeById = new Map(listedNodes.map((n) => [n.id, n]));
    const userIds = [...configs.values()].flatMap((c) => c.userIds);
    const memberIds = await this.memberships.memberIdsOf(ids, manager);
    const people = new Map(
      (
        await this.users.findLiveByIds([...new Set([...userIds, ...[...memberIds.values()].flat()])], manager)
      ).map((u) => [u.id, u]),
    );
    const apps = await this.apps.briefsByIds(
      [...configs.values()].flatMap((c) => c.appIds),
      manager,
    );
    const powers = await this.perms.systemPowersOf(ids, manager);
    for (const group of groups) {
      const config = configs.get(group.id);
      const listed = config?.scopeSubject === ScopeSubject.Listed;
      // Stale entries (deleted nodes, users, apps) drop out here.
      described.set(group.id, {
        manager_group: {
          scope_subject: config?.scopeSubject ?? ScopeSubject.OwnNodes,
          nodes: listed
            ? (config?.nodeIds ?? []).flatMap((id) => {
                const n = nodeById.get(id);
                return n
                  ? [
                      {
                        node_uid: nodeUidOf(n),
                        node_subject: n.kind === 'dept' ? 'dept' : n.top,
                        name: n.name,
                      },
                    ]
                  : [];
              })
            : [],
          users: listed
            ? (config?.userIds ?? []).flatMap((id) => {
                const u = people.get(id);
                return u ? [{ username: u.username, name: u.name }] : [];
              })
            : [],
          apps: (config?.appIds ?? []).flatMap((id) => apps.get(id) ?? []),
          perms: powers.get(group.id) ?? [],
        },
        users: (memberIds.get(group.id) ?? []).flatMap((id) => {
          const u = people.get(id);
          return u ? [{ user_id: u.id, username: u.username, name: u.name }] : [];
        }),
      });
    }
    return described;
  }

  async categoryCreated(manager: EntityManager, category: OrgNode, creatorUserId: number): Promise<void> {
    await this.createOwnerGroup(manager, `管理分组${category.name}`, creatorUserId, {
      nodeIds: [category.id],
      appIds: [],
    });
  }

  async created(
    manager: EntityManager,
    app: { id: number; uid: string; name: string },
    creatorUserId: number,
  ): Promise<void> {
    await this.createOwnerGroup(manager, `管理应用${app.name}`, creatorUserId, {
      nodeIds: [],
      appIds: [app.id],
    });
  }

  async removed(manager: EntityManager, appId: number): Promise<void> {
    await this.groups.forgetApp(manager, appId);
  }

  /** The automatic group of a creator (contract §3.6): scope 2 over what it created, creator as member. */
  private async createOwnerGroup(
    manager: EntityManager,
    name: string,
    creatorUserId: number,
    managed: { nodeIds: number[]; appIds: number[] },
  ): Promise<void> {
    const group = await this.org.createManagerGroupWithin(manager, name.slice(0, 255));
    await this.groups.save(manager, {
      nodeId: group.id,
      scopeSubject: ScopeSubject.Listed,
      nodeIds: managed.nodeIds,
      userIds: [creatorUserId],
      appIds: managed.appIds,
    });
    await this.memberships.addMembersWithin(manager, group.id, [creatorUserId]);
  }
}

function usersMissing(usernames: string[]) {
  return fieldError('admin_scope.users_missing', 'users', `${usernames.join(', ')} not found`);
}
