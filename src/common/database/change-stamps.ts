import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ChangeStampEntity } from './change-stamp.entity';
import { DirectSql } from './direct-sql';

/** Topics whose writers bump a stamp; seeded by the migration that introduces each one. */
export type ChangeTopic = 'org' | 'perm' | 'oidc_keys' | 'apps';

/** Version stamps for caches that must never serve an answer older than the last committed write. */
@Injectable()
export class ChangeStamps {
  constructor(private readonly sql: DirectSql) {}

  /** Call inside the writing transaction, so the stamp moves exactly when the change commits. */
  async bump(manager: EntityManager, topic: ChangeTopic): Promise<void> {
    await manager
      .createQueryBuilder()
      .update(ChangeStampEntity)
      .set({ version: () => 'version + 1' })
      .where('topic = :topic', { topic })
      .execute();
  }

  /** One small raw read: callers check it on every decision (every OAuth request), so it must stay cheap. */
  async current(topics: ChangeTopic[], manager?: EntityManager): Promise<Map<ChangeTopic, number>> {
    const rows = await this.sql.rows<{ topic: string; version: number | string }>(
      `SELECT topic, version FROM change_stamps WHERE topic IN (${topics.map(() => '?').join(', ')})`,
      topics,
      manager,
    );
    return new Map(rows.map((r) => [r.topic as ChangeTopic, Number(r.version)]));
  }
}
