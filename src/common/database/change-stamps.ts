import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { ChangeStampEntity } from './change-stamp.entity';

/** Topics whose writers bump a stamp; seeded by the migration that introduces each one. */
export type ChangeTopic = 'org' | 'perm' | 'oidc_keys' | 'apps';

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

  /** One small raw read: callers check it on every decision, so it must stay cheap. */
  async current(topics: ChangeTopic[], manager?: EntityManager): Promise<Map<ChangeTopic, number>> {
    const rows: { topic: string; version: number | string }[] = await (
      manager ?? this.dataSource.manager
    ).query(
      `SELECT topic, version FROM change_stamps WHERE topic IN (${topics.map(() => '?').join(', ')})`,
      topics,
    );
    return new Map(rows.map((r) => [r.topic as ChangeTopic, Number(r.version)]));
  }
}
