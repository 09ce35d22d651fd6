import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { LoginThrottleEntity } from './entities/login-throttle.entity';
import type { ThrottleState } from './login-throttle.policy';

@Injectable()
export class LoginThrottleRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(LoginThrottleEntity);
  }

  find(manager: EntityManager, subjectKey: string): Promise<LoginThrottleEntity | null> {
    return this.repo(manager).findOne({ where: { subjectKey } });
  }

  /** Inserts the first row for a subject at version 0, unless a parallel attempt already did. */
  async insertIfAbsent(manager: EntityManager, subjectKey: string, state: ThrottleState): Promise<void> {
    await this.repo(manager)
      .createQueryBuilder()
      .insert()
      .into(LoginThrottleEntity)
      .values({ subjectKey, ...state, version: 0 })
      .orIgnore()
      .execute();
  }

  /** Compare-and-swap on `version`: true when this writer's view was current and the row changed. */
  async replace(
    manager: EntityManager,
    subjectKey: string,
    version: number,
    state: ThrottleState,
  ): Promise<boolean> {
    const result = await this.repo(manager).update(
      { subjectKey, version },
      { ...state, version: version + 1 },
    );
    return (result.affected ?? 0) > 0;
  }

  /**
   * A reserved attempt succeeded: release it, refund it from the hourly window and start the
   * consecutive count over. One relative UPDATE is atomic on every engine, so it needs no
   * compare-and-swap round and can share the caller's transaction.
   */
  async releaseSucceeded(manager: EntityManager, subjectKey: string): Promise<void> {
    await this.repo(manager)
      .createQueryBuilder()
      .update(LoginThrottleEntity)
      .set({
        failures: 0,
        nextAttemptAt: null,
        pending: () => 'CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END',
        windowFailures: () => 'CASE WHEN window_failures > 0 THEN window_failures - 1 ELSE 0 END',
        version: () => 'version + 1',
      })
      .where('subject_key = :subjectKey', { subjectKey })
      .execute();
  }

  async delete(manager: EntityManager, subjectKey: string): Promise<void> {
    await this.repo(manager).delete({ subjectKey });
  }
}
