import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import type { SqlCondition } from '../../common/guards/admin-scope';
import type { PageRequest } from '../../common/pagination/pagination';
import { MembershipEntity } from './entities/membership.entity';
import { subtreeRange } from './org-nodes.repository';

const CHUNK = 500;

@Injectable()
export class MembershipsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(MembershipEntity);
  }

  /** Direct memberships of a batch of users. */
  async ofUsers(userIds: number[], manager?: EntityManager): Promise<MembershipEntity[]> {
    const found: MembershipEntity[] = [];
    for (let start = 0; start < userIds.length; start += CHUNK) {
      found.push(...(await this.repo(manager).findBy({ userId: In(userIds.slice(start, start + CHUNK)) })));
    }
    return found;
  }

  /** Members of one node in member order. */
  /** Members of several nodes in one query, each node's in member order. */
  ofNodes(nodeIds: number[], manager?: EntityManager): Promise<MembershipEntity[]> {
    if (nodeIds.length === 0) return Promise.resolve([]);
    return this.repo(manager).find({
      where: { nodeId: In(nodeIds) },
      order: { nodeId: 'ASC', orderNo: 'ASC', userId: 'ASC' },
    });
  }

  ofNode(nodeId: number, manager?: EntityManager): Promise<MembershipEntity[]> {
    return this.repo(manager).find({ where: { nodeId }, order: { orderNo: 'ASC', userId: 'ASC' } });
  }

  pageOfNode(nodeId: number, page: PageRequest, scope: SqlCondition): Promise<[MembershipEntity[], number]> {
    return this.repo()
      .createQueryBuilder('m')
      .where('m.nodeId = :nodeId', { nodeId })
      .andWhere(scope.sql, scope.params)
      .orderBy('m.orderNo', 'ASC')
      .addOrderBy('m.userId', 'ASC')
      .skip(page.offset)
      .take(page.pageSize)
      .getManyAndCount();
  }

  /** Every membership of every node in a subtree, in member order; raw rows, as there may be many. */
  async ofSubtree(path: string): Promise<{ nodeId: number; userId: number }[]> {
    const { lower, upper } = subtreeRange(path);
    const rows: { node_id: number | string; user_id: number | string }[] = await this.dataSource.query(
      'SELECT m.node_id, m.user_id FROM org_memberships m INNER JOIN org_nodes n ON n.id = m.node_id ' +
        'WHERE n.path >= ? AND n.path < ? ORDER BY m.node_id, m.order_no',
      [lower, upper],
    );
    return rows.map((r) => ({ nodeId: Number(r.node_id), userId: Number(r.user_id) }));
  }

  /** Every membership, raw: the permission snapshot holds them all. */
  async all(manager?: EntityManager): Promise<{ nodeId: number; userId: number }[]> {
    const rows: { node_id: number | string; user_id: number | string }[] = await (
      manager ?? this.dataSource.manager
    ).query('SELECT node_id, user_id FROM org_memberships');
    return rows.map((r) => ({ nodeId: Number(r.node_id), userId: Number(r.user_id) }));
  }

  async countOfNode(nodeId: number, manager: EntityManager): Promise<number> {
    return this.repo(manager).count({ where: { nodeId } });
  }

  /** Appends the users that are not members yet, in the order given; returns how many were added. */
  async append(manager: EntityManager, nodeId: number, userIds: number[]): Promise<number> {
    const existing = new Set(
      (await this.repo(manager).find({ select: { userId: true }, where: { nodeId } })).map((m) => m.userId),
    );
    const fresh = [...new Set(userIds)].filter((id) => !existing.has(id));
    if (fresh.length === 0) return 0;
    let next = await this.nextOrder(manager, nodeId);
    for (let start = 0; start < fresh.length; start += CHUNK) {
      // A parallel request may add the same user first; its row wins and this one is skipped.
      await this.repo(manager)
        .createQueryBuilder()
        .insert()
        .into(MembershipEntity)
        .values(fresh.slice(start, start + CHUNK).map((userId) => ({ nodeId, userId, orderNo: next++ })))
        .orIgnore()
        .execute();
    }
    return fresh.length;
  }

  async remove(manager: EntityManager, nodeId: number, userIds: number[]): Promise<void> {
    for (let start = 0; start < userIds.length; start += CHUNK) {
      await this.repo(manager).delete({ nodeId, userId: In(userIds.slice(start, start + CHUNK)) });
    }
  }

  async removeAllOfNode(manager: EntityManager, nodeId: number): Promise<void> {
    await this.repo(manager).delete({ nodeId });
  }

  async removeAllOfUser(manager: EntityManager, userId: number): Promise<void> {
    await this.repo(manager).delete({ userId });
  }

  async removeUserFromNodes(manager: EntityManager, userId: number, nodeIds: number[]): Promise<void> {
    if (nodeIds.length === 0) return;
    await this.repo(manager).delete({ userId, nodeId: In(nodeIds) });
  }

  async setOrder(manager: EntityManager, nodeId: number, userId: number, orderNo: number): Promise<void> {
    await this.repo(manager).update({ nodeId, userId }, { orderNo });
  }

  private async nextOrder(manager: EntityManager, nodeId: number): Promise<number> {
    const row = await this.repo(manager)
      .createQueryBuilder('m')
      .select('MAX(m.order_no)', 'max')
      .where('m.node_id = :nodeId', { nodeId })
      .getRawOne<{ max: number | string | null }>();
    return Number(row?.max ?? 0) + 1;
  }
}
