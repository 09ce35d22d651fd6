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

  userByUserid(userid: string): Promise<DingUserEntity | null> {
    return this.dataSource.getRepository(DingUserEntity).findOneBy({ dingUserid: userid });
  }

  async saveUsers(manager: EntityManager, rows: DingUserEntity[]): Promise<void> {
    if (rows.length > 0) await manager.getRepository(DingUserEntity).save(rows, { chunk: 100 });
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
