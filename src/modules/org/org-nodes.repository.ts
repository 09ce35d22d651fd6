import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import type { SqlCondition } from '../../common/guards/admin-scope';
import type { PageRequest } from '../../common/pagination/pagination';
import { type NodeKind, type OrgNode, OrgNodeEntity } from './entities/org-node.entity';
import { NodeScopeNodeEntity, NodeScopeUserEntity } from './entities/node-scope.entity';
import type { NodeRef } from './node-uid';

/** Ids of the built-in nodes seeded by the organization migration. */
export const BUILTIN_IDS = {
  deptRoot: 1,
  groupRoot: 2,
  intra: 3,
  extern: 4,
  role: 5,
  label: 6,
  manager: 7,
} as const;

/** `[lower, upper)` bounds of every path that starts with `path` (ids are digits; '/' sorts just below '0'). */
export function subtreeRange(path: string): { lower: string; upper: string } {
  return { lower: path, upper: `${path.slice(0, -1)}0` };
}

/** The ids on a materialized path, root first, the node itself last. */
export function idsOnPath(path: string): number[] {
  return path.split('/').filter(Boolean).map(Number);
}

function likeContains(needle: string): string {
  return `%${needle.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

@Injectable()
export class OrgNodesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(OrgNodeEntity);
  }

  findByRef(ref: NodeRef, manager?: EntityManager): Promise<OrgNodeEntity | null> {
    return this.repo(manager).findOne({ where: { kind: ref.kind, uid: ref.uid } });
  }

  findById(id: number, manager?: EntityManager): Promise<OrgNodeEntity | null> {
    return this.repo(manager).findOne({ where: { id } });
  }

  async findByIds(ids: number[], manager?: EntityManager): Promise<OrgNodeEntity[]> {
    if (ids.length === 0) return [];
    const found: OrgNodeEntity[] = [];
    for (let start = 0; start < ids.length; start += 500) {
      found.push(...(await this.repo(manager).findBy({ id: In(ids.slice(start, start + 500)) })));
    }
    return found;
  }

  async findByUids(kind: NodeKind, uids: string[], manager?: EntityManager): Promise<OrgNodeEntity[]> {
    if (uids.length === 0) return [];
    return this.repo(manager).findBy({ kind, uid: In(uids) });
  }

  /**
   * The node and everything below it, in no particular order. Read raw: hydrating thousands of
   * entities costs several times the query itself.
   */
  async subtree(node: Pick<OrgNodeEntity, 'path'>, manager?: EntityManager): Promise<OrgNode[]> {
    const { lower, upper } = subtreeRange(node.path);
    return this.readRaw('WHERE path >= ? AND path < ?', [lower, upper], manager);
  }

  /** Every node of both trees, raw (for snapshots that hold the whole tree in memory). */
  all(manager?: EntityManager): Promise<OrgNode[]> {
    return this.readRaw('', [], manager);
  }

  private async readRaw(where: string, params: unknown[], manager?: EntityManager): Promise<OrgNode[]> {
    const rows: Record<string, unknown>[] = await (manager ?? this.dataSource.manager).query(
      'SELECT id, kind, uid, name, remark, parent_id, path, depth, order_no, top, visibility, builtin, accept_user ' +
        `FROM org_nodes ${where}`,
      params,
    );
    return rows.map((r) => ({
      id: Number(r.id),
      kind: r.kind as NodeKind,
      uid: String(r.uid),
      name: String(r.name),
      remark: String(r.remark),
      parentId: r.parent_id === null ? null : Number(r.parent_id),
      path: String(r.path),
      depth: Number(r.depth),
      orderNo: Number(r.order_no),
      top: String(r.top),
      visibility: Number(r.visibility),
      builtin: Boolean(Number(r.builtin)),
      acceptUser: Boolean(Number(r.accept_user)),
    }));
  }

  children(parentId: number, manager?: EntityManager): Promise<OrgNodeEntity[]> {
    return this.repo(manager).find({ where: { parentId }, order: { orderNo: 'ASC', id: 'ASC' } });
  }

  async countChildren(parentId: number, manager: EntityManager): Promise<number> {
    return this.repo(manager).count({ where: { parentId } });
  }

  async nextChildOrder(parentId: number, manager: EntityManager): Promise<number> {
    const row = await this.repo(manager)
      .createQueryBuilder('n')
      .select('MAX(n.order_no)', 'max')
      .where('n.parent_id = :parentId', { parentId })
      .getRawOne<{ max: number | string | null }>();
    return Number(row?.max ?? 0) + 1;
  }

  async uidTaken(kind: NodeKind, uid: string, manager: EntityManager): Promise<boolean> {
    return (await this.repo(manager).count({ where: { kind, uid } })) > 0;
  }

  /** `dept/` and `group/` lists: every node of the kind but the root, by id, `name` icontains. */
  listOfKind(
    kind: NodeKind,
    name: string | undefined,
    page: PageRequest,
    scope: SqlCondition,
  ): Promise<[OrgNodeEntity[], number]> {
    const qb = this.repo()
      .createQueryBuilder('n')
      .where('n.kind = :kind', { kind })
      .andWhere('n.parent_id IS NOT NULL')
      .andWhere(scope.sql, scope.params);
    if (name) qb.andWhere("LOWER(n.name) LIKE LOWER(:name) ESCAPE '!'", { name: likeContains(name) });
    return qb.orderBy('n.id', 'ASC').skip(page.offset).take(page.pageSize).getManyAndCount();
  }

  /**
   * Structural changes of one tree (create, move, delete) take this row lock first, so on MySQL two
   * of them never compute paths from each other's stale view. SQLite transactions are serial already.
   */
  async lockTree(kind: NodeKind, manager: EntityManager): Promise<void> {
    if (!['mysql', 'mariadb'].includes(this.dataSource.options.type)) return;
    const rootId = kind === 'dept' ? BUILTIN_IDS.deptRoot : BUILTIN_IDS.groupRoot;
    await manager.query('SELECT id FROM org_nodes WHERE id = ? FOR UPDATE', [rootId]);
  }

  /** Inserts a node under its parent; its path needs its id, so it is written in a second statement. */
  async insertChild(
    manager: EntityManager,
    parent: OrgNodeEntity,
    values: Pick<OrgNodeEntity, 'kind' | 'uid' | 'name' | 'remark' | 'top' | 'visibility' | 'orderNo'>,
  ): Promise<OrgNodeEntity> {
    const result = await this.repo(manager).insert({
      ...values,
      parentId: parent.id,
      path: `${parent.path}pending/`,
      depth: parent.depth + 1,
    });
    const id = Number((result.identifiers[0] as { id: number }).id);
    await this.repo(manager).update({ id }, { path: `${parent.path}${id}/` });
    const created = await this.findById(id, manager);
    if (!created) throw new Error(`node ${id} vanished inside its own transaction`);
    return created;
  }

  async save(manager: EntityManager, node: OrgNodeEntity): Promise<OrgNodeEntity> {
    return this.repo(manager).save(node);
  }

  /**
   * Re-parents a subtree: one UPDATE rewrites the path prefix and depth of every node in it
   * (and the category of groups that change category).
   */
  async moveSubtree(
    manager: EntityManager,
    node: OrgNodeEntity,
    parent: OrgNodeEntity,
    orderNo: number,
    top: string,
  ): Promise<void> {
    const newPath = `${parent.path}${node.id}/`;
    const { lower, upper } = subtreeRange(node.path);
    await this.repo(manager).update({ id: node.id }, { parentId: parent.id, orderNo });
    await this.repo(manager)
      .createQueryBuilder()
      .update(OrgNodeEntity)
      .set({
        path: () => `CONCAT(:newPath, SUBSTR(path, :cut))`,
        depth: () => `depth + :delta`,
        ...(top !== node.top ? { top } : {}),
      })
      .where('path >= :lower AND path < :upper', { lower, upper })
      .setParameters({ newPath, cut: node.path.length + 1, delta: parent.depth + 1 - node.depth })
      .execute();
  }

  async rename(manager: EntityManager, id: number, name: string): Promise<void> {
    await this.repo(manager).update({ id }, { name });
  }

  async setOrder(manager: EntityManager, id: number, orderNo: number): Promise<void> {
    await this.repo(manager).update({ id }, { orderNo });
  }

  async delete(manager: EntityManager, id: number): Promise<void> {
    await manager.getRepository(NodeScopeNodeEntity).delete({ nodeId: id });
    await manager.getRepository(NodeScopeNodeEntity).delete({ targetNodeId: id });
    await manager.getRepository(NodeScopeUserEntity).delete({ nodeId: id });
    await this.repo(manager).delete({ id });
  }

  // ---- visibility lists (visibility 4) ----

  async scopesOf(
    nodeIds: number[],
    manager?: EntityManager,
  ): Promise<{ nodes: NodeScopeNodeEntity[]; users: NodeScopeUserEntity[] }> {
    if (nodeIds.length === 0) return { nodes: [], users: [] };
    const m = manager ?? this.dataSource.manager;
    const nodes: NodeScopeNodeEntity[] = [];
    const users: NodeScopeUserEntity[] = [];
    for (let start = 0; start < nodeIds.length; start += 500) {
      const chunk = nodeIds.slice(start, start + 500);
      nodes.push(...(await m.getRepository(NodeScopeNodeEntity).findBy({ nodeId: In(chunk) })));
      users.push(...(await m.getRepository(NodeScopeUserEntity).findBy({ nodeId: In(chunk) })));
    }
    return { nodes, users };
  }

  async replaceScopes(
    manager: EntityManager,
    nodeId: number,
    targetNodeIds: number[],
    userIds: number[],
  ): Promise<void> {
    await manager.getRepository(NodeScopeNodeEntity).delete({ nodeId });
    await manager.getRepository(NodeScopeUserEntity).delete({ nodeId });
    if (targetNodeIds.length > 0) {
      await manager
        .getRepository(NodeScopeNodeEntity)
        .insert(targetNodeIds.map((targetNodeId) => ({ nodeId, targetNodeId })));
    }
    if (userIds.length > 0) {
      await manager.getRepository(NodeScopeUserEntity).insert(userIds.map((userId) => ({ nodeId, userId })));
    }
  }

  async removeUserFromScopes(manager: EntityManager, userId: number): Promise<void> {
    await manager.getRepository(NodeScopeUserEntity).delete({ userId });
  }

  /** Custom categories: children of `g_intra` other than the built-in ones, oldest first. */
  customCategories(): Promise<OrgNodeEntity[]> {
    return this.repo().find({
      where: { parentId: BUILTIN_IDS.intra, builtin: false },
      order: { id: 'ASC' },
    });
  }
}
