import { randomInt } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { ChangeStamps } from '../../common/database/change-stamps';
import type { AdminActor, AdminScope } from '../../common/guards/admin-scope';
import { TransactionRunner, uniqueViolationIndex } from '../../common/database/transaction-runner';
import { CommonErrors } from '../../common/errors/domain-error';
import { type Page, pageRequest, toPage } from '../../common/pagination/pagination';
import { UsersService } from '../accounts/users.service';
import { AuditService } from '../audit/audit.service';
import type { CreateNodeDto, PatchChildrenDto, UpdateNodeDto } from './dto/node-input.dto';
import { type NodeKind, type OrgNode, type OrgNodeEntity, NodeVisibility } from './entities/org-node.entity';
import { MembershipsRepository } from './memberships.repository';
import {
  collectionKey,
  type NodeRef,
  type NodeRoute,
  nodeUidOf,
  parseNodeUid,
  refForRoute,
  uidBaseFromName,
} from './node-uid';
import { parentFields, toNodeDetail, toNodeLite, toNodeReduced } from './org-node.mapper';
import { OrgErrors } from './org.errors';
import { BUILTIN_IDS, OrgNodesRepository } from './org-nodes.repository';
import { OrgNodeHooks } from './org-node.hooks';
import { SubtreeCache } from './subtree-cache';
import { childrenIndex, preOrder, reorder } from './tree-order';
import type { Shown } from './visibility';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** A sub-admin group created without a name gets random letters (contract §3.5). */
function randomLetters(count: number): string {
  return Array.from({ length: count }, () => LETTERS[randomInt(LETTERS.length)]).join('');
}

/** 部门 or 组, for audit summaries. */
function kindLabel(node: OrgNodeEntity): string {
  return node.kind === 'dept' ? '部门' : '组';
}

/** Deepest level a node may sit at (the root is 0): well inside what the path column can hold. */
export const MAX_DEPTH = 50;

/** uids a custom category may not take, because `node_subject` would read as something else. */
const RESERVED_CATEGORY_UIDS = new Set(['dept', 'root', 'extern', 'role', 'label', 'manager', 'intra']);

export interface TreeOptions {
  userRequired: boolean;
  /** What the viewer sees of each node; null = everything (admins). */
  shape: Map<number, Shown> | null;
}

/** Departments, groups and categories: reading, shaping and reordering the two trees. */
@Injectable()
export class OrgService {
  constructor(
    private readonly nodes: OrgNodesRepository,
    private readonly memberships: MembershipsRepository,
    private readonly users: UsersService,
    private readonly tx: TransactionRunner,
    private readonly stamps: ChangeStamps,
    private readonly subtrees: SubtreeCache,
    private readonly hooks: OrgNodeHooks,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  // ---- lookups ----

  /** The whole org as the permission snapshot holds it: every node and every membership. */
  async snapshot(manager: EntityManager): Promise<{
    nodes: OrgNode[];
    memberships: { nodeId: number; userId: number }[];
  }> {
    return { nodes: await this.nodes.all(manager), memberships: await this.memberships.all(manager) };
  }

  async requireNode(ref: NodeRef, manager?: EntityManager): Promise<OrgNodeEntity> {
    const node = await this.nodes.findByRef(ref, manager);
    if (!node) throw OrgErrors.notFound();
    return node;
  }

  /** `d_x` / `g_x` to the node, or null (also for an unknown prefix). */
  findByNodeUid(nodeUid: string, manager?: EntityManager): Promise<OrgNodeEntity | null> {
    const ref = parseNodeUid(nodeUid);
    return ref ? this.nodes.findByRef(ref, manager) : Promise.resolve(null);
  }

  requireRouteNode(route: NodeRoute, uid: string, manager?: EntityManager): Promise<OrgNodeEntity> {
    return this.requireNode(refForRoute(route, uid), manager);
  }

  /** A node the caller may read (managed, or an ancestor of one); anything else reads as not found. */
  async requireSeenNode(ref: NodeRef, scope: AdminScope, manager?: EntityManager): Promise<OrgNodeEntity> {
    const node = await this.requireNode(ref, manager);
    if (!scope.seesNode(node.id)) throw OrgErrors.notFound();
    return node;
  }

  /** A node the caller may change; outside its scope the node reads as not found. */
  async requireManagedNode(ref: NodeRef, scope: AdminScope, manager?: EntityManager): Promise<OrgNodeEntity> {
    const node = await this.requireNode(ref, manager);
    if (!scope.managesNode(node.id)) throw OrgErrors.notFound();
    return node;
  }

  findByIds(ids: number[], manager?: EntityManager): Promise<OrgNodeEntity[]> {
    return this.nodes.findByIds(ids, manager);
  }

  /**
   * Resolves the uids a request lists under the key of its route: bare uids of the route's kind on
   * `dept/` and `group/`, prefixed node uids on `node/` (where uids of `onlyKind`'s other kind are skipped).
   * Unknown ones are a 400 naming them.
   */
  async resolveListed(
    field: string,
    uids: string[],
    route: NodeRoute,
    onlyKind: NodeKind | null,
    manager?: EntityManager,
  ): Promise<OrgNodeEntity[]> {
    const refs: NodeRef[] = [];
    for (const uid of uids) {
      if (route !== 'node') {
        refs.push({ kind: route, uid });
        continue;
      }
      const ref = parseNodeUid(uid);
      if (!ref) throw OrgErrors.nodesMissing(field, [uid]);
      if (onlyKind && ref.kind !== onlyKind) continue;
      refs.push(ref);
    }
    const found: OrgNodeEntity[] = [];
    for (const kind of ['dept', 'group'] as const) {
      const wanted = [...new Set(refs.filter((r) => r.kind === kind).map((r) => r.uid))];
      found.push(...(await this.nodes.findByUids(kind, wanted, manager)));
    }
    const byRef = new Map(found.map((n) => [nodeUidOf(n), n]));
    const missing = refs.filter((r) => !byRef.has(nodeUidOf(r)));
    if (missing.length > 0) {
      throw OrgErrors.nodesMissing(
        field,
        missing.map((r) => (route === 'node' ? nodeUidOf(r) : r.uid)),
      );
    }
    // In request order, each node once.
    return [...new Map(refs.map((r) => [nodeUidOf(r), byRef.get(nodeUidOf(r)) as OrgNodeEntity])).values()];
  }

  // ---- reads ----

  async listOfKind(
    kind: NodeKind,
    req: Request,
    query: Record<string, unknown>,
    scope: AdminScope,
  ): Promise<Page<object>> {
    const page = pageRequest(query);
    const name = typeof query.name === 'string' ? query.name.slice(0, 255) : undefined;
    const [rows, count] = await this.nodes.listOfKind(kind, name, page, scope.nodeCondition('n.id'));
    const extra = await this.hooks.describedFields(rows);
    return toPage(
      req,
      this.config.baseUrl,
      page,
      count,
      rows.map((n) => ({ ...toNodeLite(n), ...extra.get(n.id) })),
    );
  }

  async detail(route: NodeRoute, uid: string, scope: AdminScope): Promise<Record<string, unknown>> {
    const node = await this.requireSeenNode(refForRoute(route, uid), scope);
    if (!scope.managesNode(node.id)) return toNodeReduced(node);
    return this.detailOf(node);
  }

  private async detailOf(node: OrgNodeEntity, manager?: EntityManager): Promise<Record<string, unknown>> {
    const parent = node.parentId === null ? null : await this.nodes.findById(node.parentId, manager);
    const scope = { nodeUids: [] as string[], usernames: [] as string[] };
    if (node.visibility === NodeVisibility.Listed) {
      const lists = await this.nodes.scopesOf([node.id], manager);
      const targets = await this.nodes.findByIds(
        lists.nodes.map((s) => s.targetNodeId),
        manager,
      );
      scope.nodeUids = targets.map(nodeUidOf).sort();
      const users = await this.users.findLiveByIds(
        lists.users.map((s) => s.userId),
        manager,
      );
      scope.usernames = users.map((u) => u.username).sort();
    }
    const extra = (await this.hooks.describe([node], manager)).get(node.id);
    return { ...toNodeDetail(node, parent, scope), ...extra };
  }

  /** `…/list/`: the subtree in pre-order, each node with its parent's uids. */
  async subtreeList(route: NodeRoute, uid: string, scope: AdminScope): Promise<object[]> {
    const root = await this.requireSeenNode(refForRoute(route, uid), scope);
    const subtree = (await this.subtrees.subtree(root)).filter((n) => scope.seesNode(n.id));
    const byId = new Map(subtree.map((n) => [n.id, n]));
    const rootParent = root.parentId === null ? null : await this.nodes.findById(root.parentId);
    const extra = await this.hooks.describedFields(subtree.filter((n) => scope.managesNode(n.id)));
    return preOrder(subtree, root.id).map((node) => {
      const parent = node.id === root.id ? rootParent : (byId.get(node.parentId ?? -1) ?? null);
      const { parent_uid, parent_node_uid } = parentFields(parent);
      const info = scope.managesNode(node.id)
        ? { ...toNodeLite(node), ...extra.get(node.id) }
        : toNodeReduced(node);
      return { ...info, parent_uid, parent_node_uid };
    });
  }

  async tree(route: NodeRoute, uid: string, userRequired: boolean, scope: AdminScope): Promise<object> {
    const root = await this.requireSeenNode(refForRoute(route, uid), scope);
    if (scope.unrestricted) return this.buildTree(root, collectionKey(route), { userRequired, shape: null });
    // A sub-admin sees its managed subtrees in full and the way down to them reduced.
    const subtree = await this.subtrees.subtree(root);
    const shape = new Map<number, Shown>();
    for (const node of subtree) {
      if (scope.managesNode(node.id)) shape.set(node.id, 'open');
      else if (scope.seesNode(node.id)) shape.set(node.id, 'forced');
    }
    return this.buildTree(root, collectionKey(route), { userRequired, shape }, subtree);
  }

  /**
   * NodeTree of a subtree: open nodes in full (with members when asked), forced-visible ones reduced
   * with no members, the rest pruned; `headcount` counts distinct shown members below each node.
   */
  async buildTree(
    root: OrgNodeEntity,
    key: 'depts' | 'groups' | 'nodes',
    options: TreeOptions,
    subtree?: readonly OrgNode[],
  ): Promise<object> {
    const nodes = subtree ?? (await this.subtrees.subtree(root));
    const { shape } = options;
    const isOpen = (id: number) => shape === null || shape.get(id) === 'open';
    const shown = nodes.filter((n) => shape === null || shape.has(n.id));
    const children = childrenIndex(shown);

    const membersOf = new Map<number, number[]>();
    const headcount = new Map<number, number>();
    const lite = new Map<number, { user_id: number; username: string; name: string }>();
    if (options.userRequired) {
      const shownIds = new Set(shown.map((n) => n.id));
      const parentOf = new Map(shown.map((n) => [n.id, n.parentId]));
      const nodesOfUser = new Map<number, number[]>();
      for (const { nodeId, userId } of await this.memberships.ofSubtree(root.path)) {
        if (!shownIds.has(nodeId) || !isOpen(nodeId)) continue;
        (membersOf.get(nodeId) ?? membersOf.set(nodeId, []).get(nodeId))?.push(userId);
        (nodesOfUser.get(userId) ?? nodesOfUser.set(userId, []).get(userId))?.push(nodeId);
      }
      // Each user counts once for every node on the way up from any node it belongs to.
      for (const memberOf of nodesOfUser.values()) {
        const counted = new Set<number>();
        for (const start of memberOf) {
          for (let id: number | null | undefined = start; typeof id === 'number' && !counted.has(id);) {
            counted.add(id);
            if (id === root.id) break;
            id = parentOf.get(id);
          }
        }
        for (const id of counted) headcount.set(id, (headcount.get(id) ?? 0) + 1);
      }
      for (const user of await this.users.findLiteByIds([...nodesOfUser.keys()])) {
        lite.set(user.id, { user_id: user.id, username: user.username, name: user.name });
      }
    }

    const extra = await this.hooks.describedFields(shown.filter((n) => isOpen(n.id)));
    const render = (node: OrgNode): object => {
      const open = isOpen(node.id);
      const out: Record<string, unknown> = {
        info: open ? { ...toNodeLite(node), ...extra.get(node.id) } : toNodeReduced(node),
      };
      if (options.userRequired) {
        out.users = (membersOf.get(node.id) ?? []).flatMap((id) => lite.get(id) ?? []);
        out.headcount = headcount.get(node.id) ?? 0;
      }
      out[key] = (children.get(node.id) ?? []).map(render);
      return out;
    };
    return render(root);
  }

  /** Children in order; those of `g_manager` come with their ManagerGroup and members (§3.6). */
  async children(route: NodeRoute, uid: string, scope: AdminScope): Promise<Record<string, object[]>> {
    const parent = await this.requireSeenNode(refForRoute(route, uid), scope);
    const children = (await this.nodes.children(parent.id)).filter((n) => scope.seesNode(n.id));
    const extra = await this.hooks.describe(children);
    return {
      [collectionKey(route)]: children.map((n) =>
        scope.managesNode(n.id) ? { ...toNodeLite(n), ...extra.get(n.id) } : toNodeReduced(n),
      ),
    };
  }

  /** `meta/node/`: the built-in default categories and the custom ones. */
  async categories(): Promise<object[]> {
    const defaults = await this.nodes.findByIds([BUILTIN_IDS.deptRoot, BUILTIN_IDS.role, BUILTIN_IDS.label]);
    const order = [BUILTIN_IDS.deptRoot, BUILTIN_IDS.role, BUILTIN_IDS.label] as number[];
    defaults.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
    const brief = (n: OrgNodeEntity) => ({
      name: n.name,
      node_uid: nodeUidOf(n),
      node_subject: n.kind === 'dept' ? 'dept' : n.top,
    });
    return [
      { name: '默认分类', slug: 'default', node_uid: null, nodes: defaults.map(brief) },
      {
        name: '自定义分类',
        slug: 'custom',
        node_uid: 'g_intra',
        nodes: (await this.nodes.customCategories()).map(brief),
      },
    ];
  }

  // ---- writes ----

  /**
   * A new child, placed last. Sub-admins create under nodes they manage; a category (under `g_intra`)
   * needs the category power and brings its creator's sub-admin group; sub-admin groups themselves
   * (under `g_manager`) are for superusers.
   */
  async createChild(
    route: NodeRoute,
    uid: string,
    dto: CreateNodeDto,
    actor: AdminActor,
  ): Promise<Record<string, unknown>> {
    const parentRef = refForRoute(route, uid);
    const extension = this.hooks.extended;
    return this.writeUnique(async (manager) => {
      await this.nodes.lockTree(parentRef.kind, manager);
      const parent = await this.requireNode(parentRef, manager);
      const isCategory = parent.id === BUILTIN_IDS.intra;
      const isManagerCategory = parent.id === BUILTIN_IDS.manager;
      const { scope } = actor;
      const allowed = isCategory
        ? scope.has('system_category_create')
        : isManagerCategory
          ? scope.unrestricted
          : scope.managesNode(parent.id);
      if (!allowed) {
        // Categories are no secret; creating one is a power the caller lacks.
        if (isCategory) throw CommonErrors.forbidden();
        throw OrgErrors.notFound();
      }
      const name = dto.name ?? '';
      if (name === '' && !isManagerCategory) throw OrgErrors.nameRequired();
      const node = await this.insertChildWithin(manager, parent, {
        name: name === '' ? randomLetters(8) : name,
        uid: dto.uid,
        remark: dto.remark,
        visibility: dto.visibility,
        node_scope: dto.node_scope,
        user_scope: dto.user_scope,
      });
      if (extension.isManagerGroup(node)) {
        await extension.writeManagerGroup(manager, node, dto.manager_group, true);
      }
      if (isCategory) await extension.categoryCreated(manager, node, actor.userId);
      await this.audit.record(manager, {
        subject: node.kind === 'dept' ? 'dept_create' : 'group_create',
        summary: `创建${kindLabel(node)} ${node.name} (${nodeUidOf(node)})`,
        targetNodeId: node.id,
      });
      return this.detailOf(node, manager);
    });
  }

  /** A sub-admin group under `g_manager`, created inside the caller's transaction (automatic groups). */
  async createManagerGroupWithin(manager: EntityManager, name: string): Promise<OrgNodeEntity> {
    await this.nodes.lockTree('group', manager);
    const parent = await this.requireNode({ kind: 'group', uid: 'manager' }, manager);
    return this.insertChildWithin(manager, parent, { name });
  }

  // ---- for directory sync (the sync room) ----

  /**
   * A department or group that directory sync creates under `parentId` at position `orderNo`, inside
   * the caller's transaction (which records the audit entry).
   */
  async createSyncedWithin(
    manager: EntityManager,
    parentId: number,
    name: string,
    orderNo: number,
  ): Promise<OrgNodeEntity> {
    const parent = await this.nodes.findById(parentId, manager);
    if (!parent) throw OrgErrors.notFound();
    await this.nodes.lockTree(parent.kind, manager);
    const node = await this.insertChildWithin(manager, parent, { name });
    if (node.orderNo !== orderNo) {
      await this.nodes.setOrder(manager, node.id, orderNo);
      node.orderNo = orderNo;
    }
    return node;
  }

  /**
   * Brings a synced node to the upstream name, parent and position. A parent inside the node's own
   * subtree is refused (`deadlock`), as for any move.
   */
  async updateSyncedWithin(
    manager: EntityManager,
    nodeId: number,
    target: { name: string; parentId: number; orderNo: number },
  ): Promise<{ renamed: boolean; moved: boolean; reordered: boolean }> {
    const node = await this.nodes.findById(nodeId, manager);
    if (!node) throw OrgErrors.notFound();
    const renamed = node.name !== target.name;
    const moved = node.parentId !== target.parentId;
    const reordered = node.orderNo !== target.orderNo;
    if (moved) {
      const parent = await this.nodes.findById(target.parentId, manager);
      if (!parent) throw OrgErrors.notFound();
      if (parent.path.startsWith(node.path)) throw OrgErrors.deadlock();
      await this.nodes.lockTree(node.kind, manager);
      await this.nodes.moveSubtree(
        manager,
        node,
        parent,
        target.orderNo,
        node.kind === 'dept' ? 'dept' : parent.top,
      );
    } else if (reordered) {
      await this.nodes.setOrder(manager, node.id, target.orderNo);
    }
    if (renamed) {
      await this.nodes.rename(manager, node.id, target.name);
    }
    if (renamed || moved || reordered) await this.stamps.bump(manager, 'org');
    return { renamed, moved, reordered };
  }

  /** Deletes a synced node and its memberships; false (nothing done) while it still has child nodes. */
  async removeSyncedWithin(manager: EntityManager, nodeId: number): Promise<boolean> {
    const node = await this.nodes.findById(nodeId, manager);
    if (!node) return true;
    if (node.builtin || (await this.nodes.countChildren(node.id, manager)) > 0) return false;
    await this.nodes.lockTree(node.kind, manager);
    await this.memberships.removeAllOfNode(manager, node.id);
    await this.hooks.remove(manager, node.id);
    await this.nodes.delete(manager, node.id);
    await this.stamps.bump(manager, 'org');
    return true;
  }

  private async insertChildWithin(
    manager: EntityManager,
    parent: OrgNodeEntity,
    fields: {
      name: string;
      uid?: string;
      remark?: string;
      visibility?: number;
      node_scope?: string[];
      user_scope?: string[];
    },
  ): Promise<OrgNodeEntity> {
    if (parent.id === BUILTIN_IDS.groupRoot) throw OrgErrors.acrossScope();
    if (parent.depth + 1 > MAX_DEPTH) throw OrgErrors.tooDeep(MAX_DEPTH);
    const isCategory = parent.id === BUILTIN_IDS.intra;
    const uidBase = fields.uid ?? (await uidBaseFromName(fields.name));
    const childUid = await this.freeUid(manager, parent.kind, uidBase, fields.uid !== undefined, isCategory);
    const visibility: NodeVisibility = fields.visibility ?? NodeVisibility.Everyone;
    const scope = await this.resolveScope(manager, visibility, fields);
    const node = await this.nodes.insertChild(manager, parent, {
      kind: parent.kind,
      uid: childUid,
      name: fields.name,
      remark: fields.remark ?? '',
      top: parent.kind === 'dept' ? 'dept' : isCategory ? childUid : parent.top,
      visibility,
      orderNo: await this.nodes.nextChildOrder(parent.id, manager),
    });
    if (scope) await this.nodes.replaceScopes(manager, node.id, scope.nodeIds, scope.userIds);
    await this.stamps.bump(manager, 'org');
    return node;
  }

  async update(
    route: NodeRoute,
    uid: string,
    dto: UpdateNodeDto,
    scope: AdminScope,
  ): Promise<Record<string, unknown>> {
    const ref = refForRoute(route, uid);
    const extension = this.hooks.extended;
    return this.tx.run(async (manager) => {
      const node = await this.requireManagedNode(ref, scope, manager);
      if (dto.uid !== undefined && dto.uid !== node.uid && dto.uid !== nodeUidOf(node)) {
        throw OrgErrors.uidImmutable();
      }
      if (node.builtin && dto.name !== undefined && dto.name !== node.name)
        throw OrgErrors.builtinProtected();
      if (dto.name !== undefined) node.name = dto.name;
      if (dto.remark !== undefined) node.remark = dto.remark;
      if (dto.visibility !== undefined) node.visibility = dto.visibility;
      const listsGiven = dto.node_scope !== undefined || dto.user_scope !== undefined;
      if (node.visibility !== NodeVisibility.Listed) {
        await this.nodes.replaceScopes(manager, node.id, [], []);
      } else if (listsGiven) {
        const current = await this.nodes.scopesOf([node.id], manager);
        const scope = await this.resolveScope(manager, node.visibility, dto);
        await this.nodes.replaceScopes(
          manager,
          node.id,
          dto.node_scope !== undefined ? (scope?.nodeIds ?? []) : current.nodes.map((s) => s.targetNodeId),
          dto.user_scope !== undefined ? (scope?.userIds ?? []) : current.users.map((s) => s.userId),
        );
      }
      await this.nodes.save(manager, node);
      if (extension.isManagerGroup(node)) {
        await extension.writeManagerGroup(manager, node, dto.manager_group, false);
      }
      await this.stamps.bump(manager, 'org');
      await this.audit.record(manager, {
        subject: node.kind === 'dept' ? 'dept_update' : 'group_update',
        summary: `修改${kindLabel(node)} ${node.name} (${nodeUidOf(node)})`,
        targetNodeId: node.id,
      });
      return this.detailOf(node, manager);
    });
  }

  async remove(route: NodeRoute, uid: string, ignoreUser: boolean, scope: AdminScope): Promise<void> {
    const ref = refForRoute(route, uid);
    await this.tx.run(async (manager) => {
      await this.nodes.lockTree(ref.kind, manager);
      const node = await this.requireManagedNode(ref, scope, manager);
      if (node.builtin) throw OrgErrors.builtinProtected();
      if ((await this.nodes.countChildren(node.id, manager)) > 0) throw OrgErrors.hasChildren();
      if ((await this.memberships.countOfNode(node.id, manager)) > 0) {
        if (!ignoreUser) throw OrgErrors.hasMembers();
        await this.memberships.removeAllOfNode(manager, node.id);
      }
      await this.audit.record(manager, {
        subject: node.kind === 'dept' ? 'dept_delete' : 'group_delete',
        summary: `删除${kindLabel(node)} ${node.name} (${nodeUidOf(node)})`,
        targetNodeId: node.id,
      });
      await this.hooks.remove(manager, node.id);
      await this.nodes.delete(manager, node.id);
      await this.stamps.bump(manager, 'org');
    });
  }

  /** `subject=sort` reorders current children; `subject=add` moves the listed nodes under this one, last. */
  async patchChildren(
    route: NodeRoute,
    uid: string,
    dto: PatchChildrenDto,
    scope: AdminScope,
  ): Promise<Record<string, object[]>> {
    const ref = refForRoute(route, uid);
    const field = `${route}_uids`;
    const listed = dto[field as 'dept_uids' | 'group_uids' | 'node_uids'] ?? [];
    await this.tx.run(async (manager) => {
      await this.nodes.lockTree(ref.kind, manager);
      const parent = await this.requireManagedNode(ref, scope, manager);
      const targets = await this.resolveListed(field, listed, route, parent.kind, manager);
      // Out-of-scope nodes read as unknown, as everywhere else.
      const foreign = targets.filter((t) => !scope.managesNode(t.id));
      if (foreign.length > 0) {
        throw OrgErrors.nodesMissing(
          field,
          foreign.map((t) => (route === 'node' ? nodeUidOf(t) : t.uid)),
        );
      }
      if (dto.subject === 'sort') {
        const children = await this.nodes.children(parent.id, manager);
        const childIds = new Set(children.map((c) => c.id));
        const strangers = targets.filter((t) => !childIds.has(t.id));
        if (strangers.length > 0) {
          throw OrgErrors.notChildren(
            field,
            strangers.map((s) => (route === 'node' ? nodeUidOf(s) : s.uid)),
          );
        }
        for (const [id, orderNo] of reorder(targets.map((t) => ({ id: t.id, orderNo: t.orderNo })))) {
          await this.nodes.setOrder(manager, id, orderNo);
        }
      } else {
        for (const target of targets) await this.moveUnder(manager, target, parent);
      }
      await this.stamps.bump(manager, 'org');
      const uids = targets.map(nodeUidOf).join(', ');
      await this.audit.record(manager, {
        subject:
          dto.subject === 'sort'
            ? parent.kind === 'dept'
              ? 'dept_update'
              : 'group_update'
            : parent.kind === 'dept'
              ? 'dept_move'
              : 'group_move',
        summary:
          dto.subject === 'sort'
            ? `调整${kindLabel(parent)} ${parent.name} (${nodeUidOf(parent)}) 的子节点顺序: ${uids}`
            : `移动 ${uids} 到${kindLabel(parent)} ${parent.name} (${nodeUidOf(parent)}) 下`,
        // One node moved: the entry is about it; several: about the parent that now holds them.
        targetNodeId: dto.subject === 'add' && targets.length === 1 ? targets[0].id : parent.id,
      });
    });
    return this.children(route, uid, scope);
  }

  private async moveUnder(manager: EntityManager, node: OrgNodeEntity, parent: OrgNodeEntity): Promise<void> {
    // Re-read: an earlier move in this request may have rewritten this node's path.
    const current = await this.nodes.findById(node.id, manager);
    if (!current) throw OrgErrors.notFound();
    if (current.builtin) throw OrgErrors.builtinProtected();
    if (parent.path.startsWith(current.path)) throw OrgErrors.deadlock();
    let top = current.top;
    if (current.kind === 'group') {
      if (parent.id === BUILTIN_IDS.groupRoot) throw OrgErrors.acrossScope();
      if (parent.id === BUILTIN_IDS.intra) {
        if (RESERVED_CATEGORY_UIDS.has(current.uid)) throw OrgErrors.acrossScope();
        top = current.uid;
      } else if (parent.top !== current.top) {
        throw OrgErrors.acrossScope();
      }
    }
    const subtree = await this.nodes.subtree(current, manager);
    const deepest = Math.max(...subtree.map((n) => n.depth));
    if (deepest - current.depth + parent.depth + 1 > MAX_DEPTH) throw OrgErrors.tooDeep(MAX_DEPTH);
    const orderNo = await this.nodes.nextChildOrder(parent.id, manager);
    await this.nodes.moveSubtree(manager, current, parent, orderNo, top);
  }

  // ---- helpers ----

  /** Visibility 4 lists resolved to ids; null when the node is not visibility 4 (lists are cleared). */
  private async resolveScope(
    manager: EntityManager,
    visibility: NodeVisibility,
    dto: { node_scope?: string[]; user_scope?: string[] },
  ): Promise<{ nodeIds: number[]; userIds: number[] } | null> {
    if (visibility !== NodeVisibility.Listed) return null;
    const nodes = await this.resolveListed('node_scope', dto.node_scope ?? [], 'node', null, manager);
    const usernames = [...new Set(dto.user_scope ?? [])];
    const users = await this.users.findLiveByUsernames(usernames, manager);
    const found = new Set(users.map((u) => u.username));
    const missing = usernames.filter((u) => !found.has(u));
    if (missing.length > 0) throw OrgErrors.usersMissing('user_scope', missing);
    return { nodeIds: nodes.map((n) => n.id), userIds: users.map((u) => u.id) };
  }

  /** A requested uid must be free; a generated one gets 1, 2, … appended until it is (contract §4.7). */
  private async freeUid(
    manager: EntityManager,
    kind: NodeKind,
    base: string,
    requested: boolean,
    isCategory: boolean,
  ): Promise<string> {
    const taken = async (uid: string) =>
      (isCategory && RESERVED_CATEGORY_UIDS.has(uid)) || (await this.nodes.uidTaken(kind, uid, manager));
    if (requested) {
      if (await taken(base)) throw OrgErrors.uidTaken();
      return base;
    }
    if (!(await taken(base))) return base;
    for (let suffix = 1; ; suffix++) {
      const candidate = `${base}${suffix}`;
      if (!(await taken(candidate))) return candidate;
    }
  }

  /** A parallel create that takes the same uid first still answers "existed", not 500. */
  private async writeUnique<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.tx.run(work);
    } catch (error) {
      if (uniqueViolationIndex(error) !== null) throw OrgErrors.uidTaken();
      throw error;
    }
  }
}
