import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import { ChangeStampEntity } from './change-stamp.entity';

/** Topics whose writers bump a stamp; seeded by the migration that introduces each one. */
export type ChangeTopic = 'org' | 'perm';

/** Version stamps for caches that must never serve an answer older than the last committed write. */
@Injectable()
export class ChangeStamps {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Call inside the writing transaction, so the stamp moves exactly when the change commits. */
  async bump(manager: EntityManager, topic: ChangeTopic): Promise<void> {
    await manager
      .createQueryBuilder()
      .update(ChangeStampEntity)
      .set({ version: () => 'version + 1' })
      .where('topic = :topic', { topic })
      .execute();
  }

  async current(topics: ChangeTopic[]): Promise<Map<ChangeTopic, number>> {
    const rows = await this.dataSource.getRepository(ChangeStampEntity).findBy({ topic: In(topics) });
    return new Map(rows.map((r) => [r.topic as ChangeTopic, r.version]));
  }
}
