import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ChangeStampEntity } from './change-stamp.entity';
import { DirectSql } from './direct-sql';

/** Topics whose writers bump a stamp; seeded by the migration that introduces each one. */
export type ChangeTopic = 'org' | 'perm' | 'oidc_keys' | 'apps' | 'settings';

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

  /** A read of every stamp that has been asked for but has not started yet. */
  private next: Promise<Map<ChangeTopic, number>> | null = null;

  /**
   * The stamps of `topics` as committed now: callers check them on every decision (every OAuth request),
   * so it must stay cheap. Outside a transaction, callers within one turn of the event loop share one
   * read of all stamps, which starts after each of them asked (on the next check phase): a request sees
   * every write committed before it asked, as with a read of its own. Inside one (`manager`), the
   * transaction's own read.
   */
  current(topics: ChangeTopic[], manager?: EntityManager): Promise<Map<ChangeTopic, number>> {
    if (manager) return this.read(topics, manager);
    this.next ??= new Promise((resolve, reject) => {
      setImmediate(() => {
        // From here on, a new caller waits for a read that starts after it asked.
        this.next = null;
        this.read(null).then(resolve, reject);
      });
    });
    return this.next;
  }

  private async read(
    topics: ChangeTopic[] | null,
    manager?: EntityManager,
  ): Promise<Map<ChangeTopic, number>> {
    const rows = await this.sql.rows<{ topic: string; version: number | string }>(
      topics
        ? `SELECT topic, version FROM change_stamps WHERE topic IN (${topics.map(() => '?').join(', ')})`
        : 'SELECT topic, version FROM change_stamps',
      topics ?? [],
      manager,
    );
    return new Map(rows.map((r) => [r.topic as ChangeTopic, Number(r.version)]));
  }
}
