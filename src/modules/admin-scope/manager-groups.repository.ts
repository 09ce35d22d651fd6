import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import {
  ManagerGroupAppEntity,
  ManagerGroupEntity,
  ManagerGroupNodeEntity,
  ManagerGroupUserEntity,
  type ScopeSubject,
} from './entities/manager-group.entity';

/** A sub-admin group's settings with its lists, by id. */
export interface ManagerGroupConfig {
  nodeId: number;
  scopeSubject: ScopeSubject;
  nodeIds: number[];
  userIds: number[];
  appIds: number[];
}

@Injectable()
export class ManagerGroupsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private m(manager?: EntityManager): EntityManager {
    return manager ?? this.dataSource.manager;
  }

  async allGroupIds(manager?: EntityManager): Promise<number[]> {
    const rows = await this.m(manager)
      .getRepository(ManagerGroupEntity)
      .find({ select: { nodeId: true } });
    return rows.map((r) => r.nodeId);
  }

  /** The configurations of those of `nodeIds` that are sub-admin groups. */
  async configsOf(nodeIds: number[], manager?: EntityManager): Promise<ManagerGroupConfig[]> {
    if (nodeIds.length === 0) return [];
    const m = this.m(manager);
    const groups = await m.getRepository(ManagerGroupEntity).find({ where: { nodeId: In(nodeIds) } });
    if (groups.length === 0) return [];
    const ids = groups.map((g) => g.nodeId);
    const [nodes, users, apps] = await Promise.all([
      m.getRepository(ManagerGroupNodeEntity).find({ where: { groupNodeId: In(ids) } }),
      m.getRepository(ManagerGroupUserEntity).find({ where: { groupNodeId: In(ids) } }),
      m.getRepository(ManagerGroupAppEntity).find({ where: { groupNodeId: In(ids) } }),
    ]);
    const listOf = <T extends { groupNodeId: number }>(rows: T[], id: number, pick: (row: T) => number) =>
      rows.filter((r) => r.groupNodeId === id).map(pick);
    return groups.map((g) => ({
      nodeId: g.nodeId,
      scopeSubject: g.scopeSubject,
      nodeIds: listOf(nodes, g.nodeId, (r) => r.nodeId),
      userIds: listOf(users, g.nodeId, (r) => r.userId),
      appIds: listOf(apps, g.nodeId, (r) => r.appId),
    }));
  }

  /** Replaces a group's settings and lists in the caller's transaction. */
  async save(manager: EntityManager, config: ManagerGroupConfig): Promise<void> {
    const id = config.nodeId;
    await manager.getRepository(ManagerGroupEntity).save({ nodeId: id, scopeSubject: config.scopeSubject });
    await manager.getRepository(ManagerGroupNodeEntity).delete({ groupNodeId: id });
    await manager.getRepository(ManagerGroupUserEntity).delete({ groupNodeId: id });
    await manager.getRepository(ManagerGroupAppEntity).delete({ groupNodeId: id });
    const rows = <T>(ids: number[], make: (value: number) => T) => [...new Set(ids)].map(make);
    if (config.nodeIds.length > 0) {
      await manager
        .getRepository(ManagerGroupNodeEntity)
        .insert(rows(config.nodeIds, (nodeId) => ({ groupNodeId: id, nodeId })));
    }
    if (config.userIds.length > 0) {
      await manager
        .getRepository(ManagerGroupUserEntity)
        .insert(rows(config.userIds, (userId) => ({ groupNodeId: id, userId })));
    }
    if (config.appIds.length > 0) {
      await manager
        .getRepository(ManagerGroupAppEntity)
        .insert(rows(config.appIds, (appId) => ({ groupNodeId: id, appId })));
    }
  }

  /** A deleted node stops being a sub-admin group and stops being managed by any. */
  async forgetNode(manager: EntityManager, nodeId: number): Promise<void> {
    await manager.getRepository(ManagerGroupEntity).delete({ nodeId });
    for (const entity of [ManagerGroupNodeEntity, ManagerGroupUserEntity, ManagerGroupAppEntity]) {
      await manager.getRepository(entity).delete({ groupNodeId: nodeId });
    }
    await manager.getRepository(ManagerGroupNodeEntity).delete({ nodeId });
  }

  async forgetUser(manager: EntityManager, userId: number): Promise<void> {
    await manager.getRepository(ManagerGroupUserEntity).delete({ userId });
  }

  async forgetApp(manager: EntityManager, appId: number): Promise<void> {
    await manager.getRepository(ManagerGroupAppEntity).delete({ appId });
  }
}
