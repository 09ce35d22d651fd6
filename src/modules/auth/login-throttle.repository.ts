import { Injectable } from '@nestjs/common';
import { datetimeParameter } from '../../common/database/transaction-runner';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { DirectSql } from '../../common/database/direct-sql';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { LoginThrottleEntity } from './entities/login-throttle.entity';
import type { ThrottleState } from './login-throttle.policy';

const STATE_COLUMNS: (keyof ThrottleState)[] = [
  'failures',
  'pending',
  'pendingUntil',
  'nextAttemptAt',
  'lockedUntil',
  'windowStartedAt',
  'windowFailures',
];

/**
 * Every login reads, compare-and-swaps and releases its subject's row: hand-written statements with
 * bound parameters through DirectSql, where the query builder cost more than the statements (and,
 * inlining the version on SQLite, compiled a new one each time). Values convert as TypeORM converts
 * them for find() and update().
 */
interface ThrottleStatements {
  columns: ColumnMetadata[];
  stateColumns: ColumnMetadata[];
  find: string;
  replace: string;
  releaseSucceeded: string;
}

@Injectable()
export class LoginThrottleRepository {
  private statements?: ThrottleStatements;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly direct: DirectSql,
  ) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(LoginThrottleEntity);
  }

  async find(manager: EntityManager, subjectKey: string): Promise<LoginThrottleEntity | null> {
    const sql = this.sql();
    const rows = await this.direct.rows<Record<string, unknown>>(sql.find, [subjectKey], manager);
    const row = rows[0];
    if (!row) return null;
    const entity = new LoginThrottleEntity();
    const fields = entity as unknown as Record<string, unknown>;
    for (const c of sql.columns)
      fields[c.propertyName] = this.dataSource.driver.prepareHydratedValue(row[c.databaseName], c);
    return entity;
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
    const sql = this.sql();
    const driver = this.dataSource.driver;
    const values = sql.stateColumns.map((c): unknown =>
      driver.preparePersistentValue(state[c.propertyName as keyof ThrottleState], c),
    );
    if (!manager.queryRunner)
      throw new Error('LoginThrottleRepository.replace must run inside a transaction');
    const changed = await this.direct.changes(
      sql.replace,
      [...values, version + 1, subjectKey, version],
      manager,
    );
    return changed > 0;
  }

  /**
   * A reserved attempt succeeded: release it, refund it from the hourly window and start the
   * consecutive count over. One relative UPDATE is atomic on every engine, so it needs no
   * compare-and-swap round and can share the caller's transaction.
   */
  async releaseSucceeded(manager: EntityManager, subjectKey: string): Promise<void> {
    await this.direct.execute(this.sql().releaseSucceeded, [subjectKey], manager);
  }

  async delete(manager: EntityManager, subjectKey: string): Promise<void> {
    await this.repo(manager).delete({ subjectKey });
  }

  /**
   * Deletes up to `limit` rows that hold nothing any more: no lock, no delay, no attempt in flight and
   * no attempt since `idleSince`. A row deleted under a concurrent attempt only makes that attempt's
   * compare-and-swap miss and start from an empty row, which is what the row meant anyway.
   */
  async deleteIdleBatch(manager: EntityManager, now: Date, idleSince: Date, limit: number): Promise<number> {
    const at = (date: Date) => datetimeParameter(this.dataSource, date);
    const rows: { subject_key: string }[] = await manager.query(
      'SELECT subject_key FROM login_throttles WHERE window_started_at < ? ' +
        'AND (locked_until IS NULL OR locked_until <= ?) AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ' +
        'AND (pending = 0 OR pending_until IS NULL OR pending_until <= ?) LIMIT ?',
      [at(idleSince), at(now), at(now), at(now), limit],
    );
    if (rows.length === 0) return 0;
    await manager.query(
      `DELETE FROM login_throttles WHERE subject_key IN (${rows.map(() => '?').join(', ')})`,
      rows.map((r) => r.subject_key),
    );
    return rows.length;
  }

  private sql(): ThrottleStatements {
    if (this.statements) return this.statements;
    const metadata = this.dataSource.getMetadata(LoginThrottleEntity);
    const escape = (name: string) => this.dataSource.driver.escape(name);
    const column = (property: string): ColumnMetadata => {
      const found = metadata.findColumnWithPropertyName(property);
      if (!found) throw new Error(`LoginThrottleEntity has no column ${property}`);
      return found;
    };
    const stateColumns = STATE_COLUMNS.map(column);
    const name = (property: string) => escape(column(property).databaseName);
    const key = name('subjectKey');
    const version = name('version');
    const table = escape(metadata.tableName);
    const decrement = (property: string) =>
      `${name(property)} = CASE WHEN ${name(property)} > 0 THEN ${name(property)} - 1 ELSE 0 END`;
    this.statements = {
      columns: metadata.columns,
      stateColumns,
      find: `SELECT ${metadata.columns.map((c) => escape(c.databaseName)).join(', ')} FROM ${table} WHERE ${key} = ?`,
      replace:
        `UPDATE ${table} SET ${stateColumns.map((c) => `${escape(c.databaseName)} = ?`).join(', ')}, ${version} = ? ` +
        `WHERE ${key} = ? AND ${version} = ?`,
      releaseSucceeded:
        `UPDATE ${table} SET ${name('failures')} = 0, ${name('nextAttemptAt')} = NULL, ` +
        `${decrement('pending')}, ${decrement('windowFailures')}, ${version} = ${version} + 1 WHERE ${key} = ?`,
    };
    return this.statements;
  }
}
