import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import { DingNodeEntity, DingUserEntity } from './entities/ding.entities';

/** The DingTalk-id-to-Arbor mapping tables. */
@Injectable()
export class DingMappingRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  allUsers(manager?: EntityManager): Promise<DingUserEntity[]> {
    return (manager ?? this.dataSource.manager).getRepository(DingUserEntity).find();
  }

  allNodes(manager?: EntityManager): Promise<DingNodeEntity[]> {
    return (manager ?? this.dataSource.manager).getRepository(DingNodeEntity).find();
  }

  /** Mapping rows of these Arbor users (one query per 500 ids: a page of a list is one). */
  async usersOfUserIds(userIds: readonly number[]): Promise<DingUserEntity[]> {
    const rows: DingUserEntity[] = [];
    for (const ids of chunks(userIds)) {
      rows.push(...(await this.dataSource.getRepository(DingUserEntity).findBy({ userId: In(ids) })));
    }
    return rows;
  }

  /** Mapping rows of these Arbor nodes, the same way. */
  async nodesOfNodeIds(nodeIds: readonly number[], manager?: EntityManager): Promise<DingNodeEntity[]> {
    const rows: DingNodeEntity[] = [];
    for (const ids of chunks(nodeIds)) {
      rows.push(
        ...(await (manager ?? this.dataSource.manager)
          .getRepository(DingNodeEntity)
          .findBy({ nodeId: In(ids) })),
      );
    }
    return rows;
  }

  userByUserid(userid: string): Promise<DingUserEntity | null> {
    return this.dataSource.getRepository(DingUserEntity).findOneBy({ dingUserid: userid });
  }

  /** Inserts or replaces mapping rows, 100 per statement (one round trip each, under SQLite's limits). */
  async saveUsers(manager: EntityManager, rows: DingUserEntity[]): Promise<void> {
    for (let start = 0; start < rows.length; start += 100) {
      await manager
        .createQueryBuilder()
        .insert()
        .into(DingUserEntity)
        .values(rows.slice(start, start + 100))
        .orUpdate(['user_id', 'unionid', 'data_hash', 'data', 'left_at', 'disabled_by_sync'], ['ding_userid'])
        .execute();
    }
  }

  async deleteUsers(manager: EntityManager, userids: string[]): Promise<void> {
    if (userids.length > 0) await manager.getRepository(DingUserEntity).delete({ dingUserid: In(userids) });
  }

  async saveNode(manager: EntityManager, row: DingNodeEntity): Promise<void> {
    await manager.getRepository(DingNodeEntity).save(row);
  }

  async deleteNode(manager: EntityManager, key: string): Promise<void> {
    await manager.getRepository(DingNodeEntity).delete({ dingKey: key });
  }
}

function chunks(ids: readonly number[], size = 500): number[][] {
  const out: number[][] = [];
  for (let start = 0; start < ids.length; start += size) out.push(ids.slice(start, start + size));
  return out;
}
