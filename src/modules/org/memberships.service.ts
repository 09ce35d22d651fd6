import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Request } from 'express';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { ChangeStamps } from '../../common/database/change-stamps';
import type { AdminScope } from '../../common/guards/admin-scope';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { type Page, pageRequest, toPage } from '../../common/pagination/pagination';
import type { UserEntity } from '../accounts/entities/user.entity';
import { UserLifecycleHooks } from '../accounts/user-lifecycle.hooks';
import {
  type CreationMemberships,
  type UserCondition,
  type UserOrgFacts,
  UserOrgLink,
  type UserOrgView,
} from '../accounts/user-org.link';
import { UsersService } from '../accounts/users.service';
import { AuditService } from '../audit/audit.service';
import type { PatchMembersDto, PatchUserNodesDto } from './dto/node-input.dto';
import type { NodeKind, OrgNodeEntity } from './entities/org-node.entity';
import { MembershipsRepository } from './memberships.repository';
import { collectionKey, type NodeRoute, nodeUidOf, refForRoute } from './node-uid';
import { toNodeLite } from './org-node.mapper';
import { OrgErrors } from './org.errors';
import { BUILTIN_IDS, OrgNodesRepository } from './org-nodes.repository';
import { OrgService } from './org.service';
import { reorder } from './tree-order';

/** Who belongs to which node: member lists, a user's memberships, and the org facts on user responses. */
@Injectable()
export class OrgMembershipsService implements OnModuleInit, UserOrgView {
  /** Parameter names of contributed SQL conditions must not collide within one query. */
  private conditionSeq = 0;

  constructor(
    private readonly memberships: MembershipsRepository,
    private readonly nodes: OrgNodesRepository,
    private readonly org: OrgService,
    private readonly users: UsersService,
    private readonly hooks: UserLifecycleHooks,
    private readonly link: UserOrgLink,
    private readonly tx: TransactionRunner,
    private readonly stamps: ChangeStamps,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.link.connect(this);
    this.hooks.onRemoved(async (manager, userId) => {
      await this.memberships.removeAllOfUser(manager, userId);
      await this.nodes.removeUserFromScopes(manager, userId);
      await this.stamps.bump(manager, 'org');
    });
  }

  // ---- for other rooms (CSV import) ----

  /** Appends the users that are not members yet; returns how many were added. */
  async addMembersWithin(manager: EntityManager, nodeId: number, userIds: number[]): Promise<number> {
    const added = await this.memberships.append(manager, nodeId, userIds);
    if (added > 0) await this.stamps.bump(manager, 'org');
    return added;
  }

  /** Removes the listed users from one node (directory sync); returns nothing when none were members. */
  async removeMembersWithin(manager: EntityManager, nodeId: number, userIds: number[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.memberships.remove(manager, nodeId, userIds);
    await this.stamps.bump(manager, 'org');
  }

  /** Direct member ids of each node, in member order. */
  async memberIdsOf(nodeIds: number[], manager?: EntityManager): Promise<Map<number, number[]>> {
    const result = new Map<number, number[]>(nodeIds.map((id) => [id, []]));
    for (const m of await this.memberships.ofNodes(nodeIds, manager)) result.get(m.nodeId)?.push(m.userId);
    return result;
  }

  // ---- node members ----

  /** Department members in member order; group members by id with the contract's filters. */
  async members(
    route: NodeRoute,
    uid: string,
    req: Request,
    query: Record<string, unknown>,
    scope: AdminScope,
  ): Promise<Page<object>> {
    const node = await this.org.requireSeenNode(refForRoute(route, uid), scope);
    if (node.kind === 'dept') {
      const page = pageRequest(query);
      const [rows, count] = await this.memberships.pageOfNode(
        node.id,
        page,
        scope.userCondition('m.user_id'),
      );
      const users = await this.inOrder(rows.map((m) => m.userId));
      return toPage(req, this.config.baseUrl, page, count, await this.users.toUserResponses(users));
    }
    const conditions = [this.memberOf([node.id]), scope.userCondition('u.id')];
    if (typeof query.uids === 'string' && query.uids !== '') {
      const uids = query.uids.split('|').slice(0, 100);
      const groups = await this.nodes.findByUids('group', uids);
      const known = new Set(groups.map((g) => g.uid));
      // An unknown group has no members, so the intersection is empty.
      if (uids.some((u) => !known.has(u))) conditions.push({ sql: '1 = 0', params: {} });
      for (const group of groups) conditions.push(this.memberOf([group.id]));
    }
    return this.users.pageMembers(req, query, conditions);
  }

  /** Sub-admins change members of nodes they manage, and only users they manage. */
  async patchMembers(
    route: NodeRoute,
    uid: string,
    dto: PatchMembersDto,
    scope: AdminScope,
  ): Promise<{ users: object[] }> {
    const ref = refForRoute(route, uid);
    const nodeId = await this.tx.run(async (manager) => {
      const node = await this.org.requireManagedNode(ref, scope, manager);
      const users = await this.requireUsers(manager, 'user_uids', dto.user_uids, scope);
      const userIds = users.map((u) => u.id);
      switch (dto.subject) {
        case 'add':
          await this.memberships.append(manager, node.id, userIds);
          break;
        case 'delete':
          await this.memberships.remove(manager, node.id, userIds);
          break;
        case 'sort': {
          const current = new Map(
            (await this.memberships.ofNode(node.id, manager)).map((m) => [m.userId, m]),
          );
          const strangers = users.filter((u) => !current.has(u.id));
          if (strangers.length > 0) throw OrgErrors.notMembers(strangers.map((u) => u.username));
          const listed = users.map((u) => ({ id: u.id, orderNo: current.get(u.id)?.orderNo ?? 0 }));
          for (const [userId, orderNo] of reorder(listed)) {
            await this.memberships.setOrder(manager, node.id, userId, orderNo);
          }
          break;
        }
        case 'override': {
          // The list, in its order, replaces the members the caller manages; the others (superusers,
          // for a sub-admin) stay.
          const dropped = (await this.memberships.ofNode(node.id, manager))
            .map((m) => m.userId)
            .filter((id) => scope.managesUser(id));
          await this.memberships.remove(manager, node.id, dropped);
          await this.memberships.append(manager, node.id, userIds);
          break;
        }
        case 'move_out': {
          const field = `${route}_uids` as const;
          const targets = await this.org.resolveListed(field, dto[field] ?? [], route, node.kind, manager);
          const foreign = targets.filter((t) => !scope.managesNode(t.id));
          if (foreign.length > 0)
            throw OrgErrors.nodesMissing(
              field,
              foreign.map((t) => t.uid),
            );
          for (const target of targets) await this.memberships.append(manager, target.id, userIds);
          if (!targets.some((t) => t.id === node.id))
            await this.memberships.remove(manager, node.id, userIds);
          break;
        }
      }
      await this.stamps.bump(manager, 'org');
      await this.audit.record(manager, {
        subject: node.kind === 'dept' ? 'dept_member' : 'group_member',
        summary:
          `${node.kind === 'dept' ? '部门' : '组'} ${node.name} (${nodeUidOf(node)}) 成员 ${dto.subject}: ` +
          users.map((u) => u.username).join(', '),
        targetNodeId: node.id,
        targetUserId: users.length === 1 ? users[0].id : null,
      });
      return node.id;
    });
    const ordered = await this.inOrder((await this.memberships.ofNode(nodeId)).map((m) => m.userId));
    return { users: await this.users.toUserResponses(ordered) };
  }

  // ---- a user's memberships ----

  async userNodes(route: NodeRoute, username: string, scope: AdminScope): Promise<Record<string, object[]>> {
    const user = await this.users.requireManagedByUsername(username, scope);
    const nodes = (await this.nodesOfUser(user.id, route)).filter((n) => scope.seesNode(n.id));
    return { [collectionKey(route)]: nodes.map(toNodeLite) };
  }

  /** add / delete / override the user's memberships of the route's kind (both kinds on `node/`). */
  async patchUserNodes(
    route: NodeRoute,
    username: string,
    dto: PatchUserNodesDto,
    scope: AdminScope,
  ): Promise<Record<string, object[]>> {
    const field = `${route}_uids` as const;
    const userId = await this.tx.run(async (manager) => {
      const user = await this.users.requireManagedByUsername(username, scope, manager);
      const listed = await this.org.resolveListed(field, dto[field] ?? [], route, null, manager);
      const foreign = listed.filter((n) => !scope.managesNode(n.id));
      if (foreign.length > 0)
        throw OrgErrors.nodesMissing(
          field,
          foreign.map((n) => n.uid),
        );
      if (dto.subject === 'add') {
        for (const node of listed) await this.memberships.append(manager, node.id, [user.id]);
      } else if (dto.subject === 'delete') {
        await this.memberships.removeUserFromNodes(
          manager,
          user.id,
          listed.map((n) => n.id),
        );
      } else {
        const current = await this.nodesOfUser(user.id, route, manager);
        const keep = new Set(listed.map((n) => n.id));
        // An external user stays external: `override` never drops g_extern; nor does it drop
        // memberships outside the caller's scope.
        keep.add(BUILTIN_IDS.extern);
        const drop = current.filter((n) => !keep.has(n.id) && scope.managesNode(n.id)).map((n) => n.id);
        await this.memberships.removeUserFromNodes(manager, user.id, drop);
        for (const node of listed) await this.memberships.append(manager, node.id, [user.id]);
      }
      await this.stamps.bump(manager, 'org');
      await this.audit.record(manager, {
        subject:
          listed.length > 0 && listed.every((n) => n.kind === 'group') ? 'group_member' : 'dept_member',
        summary: `用户 ${user.username} 的节点 ${dto.subject}: ${listed.map(nodeUidOf).join(', ')}`,
        targetUserId: user.id,
        targetNodeId: listed.length === 1 ? listed[0].id : null,
      });
      return user.id;
    });
    const nodes = (await this.nodesOfUser(userId, route)).filter((n) => scope.seesNode(n.id));
    return { [collectionKey(route)]: nodes.map(toNodeLite) };
  }

  /** The user's direct nodes of the route's kind; departments first on `node/`. */
  private async nodesOfUser(
    userId: number,
    route: NodeRoute,
    manager?: EntityManager,
  ): Promise<OrgNodeEntity[]> {
    const rows = await this.memberships.ofUsers([userId], manager);
    const nodes = await this.nodes.findByIds(
      rows.map((m) => m.nodeId),
      manager,
    );
    const kinds: NodeKind[] = route === 'node' ? ['dept', 'group'] : [route];
    return nodes
      .filter((n) => kinds.includes(n.kind))
      .sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind) || a.id - b.id);
  }

  // ---- UserOrgView: what the accounts room shows and filters ----

  async factsOf(userIds: number[]): Promise<Map<number, UserOrgFacts>> {
    const facts = new Map<number, UserOrgFacts>(
      userIds.map((id) => [id, { nodes: [], depts: [], isExtern: false }]),
    );
    if (userIds.length === 0) return facts;
    const rows = await this.memberships.ofUsers(userIds);
    const nodes = new Map(
      (await this.nodes.findByIds([...new Set(rows.map((m) => m.nodeId))])).map((n) => [n.id, n]),
    );
    const groupsOf = new Map<number, OrgNodeEntity[]>();
    const deptsOf = new Map<number, OrgNodeEntity[]>();
    for (const { userId, nodeId } of rows) {
      const node = nodes.get(nodeId);
      const fact = facts.get(userId);
      if (!node || !fact) continue;
      if (node.id === BUILTIN_IDS.extern) {
        fact.isExtern = true;
        continue;
      }
      const bucket = node.kind === 'dept' ? deptsOf : groupsOf;
      (bucket.get(userId) ?? bucket.set(userId, []).get(userId))?.push(node);
    }
    for (const [userId, fact] of facts) {
      const groups = (groupsOf.get(userId) ?? []).sort((a, b) => a.id - b.id);
      const depts = (deptsOf.get(userId) ?? []).sort((a, b) => a.id - b.id);
      fact.nodes = [...groups, ...depts].map(toNodeLite);
      fact.depts = depts.map((d) => ({ uid: d.uid, name: d.name }));
    }
    return facts;
  }

  groupMembership(groupUids: string[], negate: boolean): UserCondition {
    if (groupUids.length === 0) return { sql: negate ? '1 = 1' : '1 = 0', params: {} };
    const param = `org_groups_${this.conditionSeq++}`;
    return {
      sql:
        `u.id ${negate ? 'NOT IN' : 'IN'} (SELECT gm.user_id FROM org_memberships gm ` +
        `INNER JOIN org_nodes gn ON gn.id = gm.node_id WHERE gn.kind = 'group' AND gn.uid IN (:...${param}))`,
      params: { [param]: groupUids },
    };
  }

  isolated(): UserCondition {
    return { sql: 'u.id NOT IN (SELECT im.user_id FROM org_memberships im)', params: {} };
  }

  async assignOnCreate(
    manager: EntityManager,
    userId: number,
    request: CreationMemberships,
    scope: AdminScope,
  ): Promise<void> {
    const targets: OrgNodeEntity[] = [];
    if (request.node_uids && request.node_uids.length > 0) {
      targets.push(...(await this.org.resolveListed('node_uids', request.node_uids, 'node', null, manager)));
    } else {
      targets.push(
        ...(await this.org.resolveListed('dept_uids', request.dept_uids ?? [], 'dept', null, manager)),
      );
      targets.push(
        ...(await this.org.resolveListed('group_uids', request.group_uids ?? [], 'group', null, manager)),
      );
    }
    const foreign = targets.filter((n) => !scope.managesNode(n.id));
    if (foreign.length > 0) {
      throw OrgErrors.nodesMissing(
        request.node_uids ? 'node_uids' : 'dept_uids',
        foreign.map((n) => n.uid),
      );
    }
    for (const node of targets) await this.memberships.append(manager, node.id, [userId]);
    if (targets.length > 0) await this.stamps.bump(manager, 'org');
  }

  // ---- helpers ----

  private memberOf(nodeIds: number[]): UserCondition {
    const param = `org_member_of_${this.conditionSeq++}`;
    return {
      sql: `u.id IN (SELECT mo.user_id FROM org_memberships mo WHERE mo.node_id IN (:...${param}))`,
      params: { [param]: nodeIds },
    };
  }

  /** Live users by username; unknown ones, and ones outside the caller's scope, are a 400 naming them. */
  private async requireUsers(
    manager: EntityManager,
    field: string,
    usernames: string[],
    scope: AdminScope,
  ): Promise<UserEntity[]> {
    const unique = [...new Set(usernames)];
    const found = (await this.users.findLiveByUsernames(unique, manager)).filter((u) =>
      scope.managesUser(u.id),
    );
    const byName = new Map(found.map((u) => [u.username, u]));
    const missing = unique.filter((u) => !byName.has(u));
    if (missing.length > 0) throw OrgErrors.usersMissing(field, missing);
    return unique.map((u) => byName.get(u) as UserEntity);
  }

  /** Live users in the order of the given ids. */
  private async inOrder(userIds: number[]): Promise<UserEntity[]> {
    const byId = new Map((await this.users.findLiveByIds(userIds)).map((u) => [u.id, u]));
    return userIds.flatMap((id) => byId.get(id) ?? []);
  }
}
