import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

/** The part of a better-sqlite3 statement used here. */
interface SqliteStatement {
  all(...parameters: unknown[]): unknown[];
  run(...parameters: unknown[]): { changes: number };
}

interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  readonly inTransaction: boolean;
}

/** A write waiting for its turn's group commit. */
interface QueuedWrite {
  statement: SqliteStatement;
  parameters: unknown[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Statements are fixed strings per call site; the bound only guards against a caller that is not. */
const MAX_STATEMENTS = 256;

/**
 * Hand-written statements on paths that run on every OAuth request (the provider adapter, change
 * stamps). On SQLite they are prepared once and run synchronously on TypeORM's own connection, so they
 * see and join exactly what TypeORM's statements would; TypeORM's query pipeline (several promises,
 * subscribers, logging) costs more than such a statement itself. On MySQL/MariaDB they go through the
 * pool, or the transaction's connection when a manager is given.
 */
@Injectable()
export class DirectSql {
  private readonly sqlite: boolean;
  private readonly statements = new Map<string, SqliteStatement>();
  private queued: QueuedWrite[] = [];

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.sqlite = dataSource.options.type === 'better-sqlite3';
  }

  /** The rows a SELECT returns. */
  async rows<T>(sql: string, parameters: unknown[], manager?: EntityManager): Promise<T[]> {
    if (!this.sqlite) return (manager ?? this.dataSource.manager).query(sql, parameters);
    return this.statement(sql).all(...parameters) as T[];
  }

  /** Runs an INSERT, UPDATE or DELETE. */
  async execute(sql: string, parameters: unknown[], manager?: EntityManager): Promise<void> {
    if (!this.sqlite) {
      await (manager ?? this.dataSource.manager).query(sql, parameters);
      return;
    }
    this.statement(sql).run(...parameters);
  }

  /**
   * An INSERT, UPDATE or DELETE of its own (no caller's transaction), done once it is committed. On
   * SQLite the writes asked for in one event-loop turn commit together in one transaction (a commit
   * writes the WAL frames of every page it touched and takes and drops the file locks: a single row's
   * commit cost several times its insert, and the provider's artifacts are several writes per request).
   * A failing statement fails alone; the others still commit. Joins a transaction already open on the
   * shared connection, as any statement outside a unit of work does there.
   */
  grouped(sql: string, parameters: unknown[]): Promise<void> {
    if (!this.sqlite) return this.execute(sql, parameters);
    const statement = this.statement(sql);
    return new Promise<void>((resolve, reject) => {
      if (this.queued.length === 0) setImmediate(() => this.commitQueued());
      this.queued.push({ statement, parameters, resolve, reject });
    });
  }

  /** Runs an UPDATE or DELETE; the number of rows it changed. */
  async changes(sql: string, parameters: unknown[], manager?: EntityManager): Promise<number> {
    if (this.sqlite) return this.statement(sql).run(...parameters).changes;
    const runner = manager?.queryRunner ?? this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(sql, parameters, true);
      return result.affected ?? 0;
    } finally {
      if (runner !== manager?.queryRunner) await runner.release();
    }
  }

  private commitQueued(): void {
    const writes = this.queued;
    this.queued = [];
    if (writes.length === 1) {
      const [write] = writes;
      try {
        write.statement.run(...write.parameters);
        write.resolve();
      } catch (error) {
        write.reject(error);
      }
      return;
    }
    const own = !this.connection().inTransaction;
    const done: QueuedWrite[] = [];
    try {
      if (own) this.statement('BEGIN').run();
      for (const write of writes) {
        try {
          write.statement.run(...write.parameters);
          done.push(write);
        } catch (error) {
          // SQLite undid this statement only; the transaction goes on.
          write.reject(error);
        }
      }
      if (own) this.statement('COMMIT').run();
    } catch (error) {
      if (own && this.connection().inTransaction) this.statement('ROLLBACK').run();
      for (const write of done) write.reject(error);
      if (done.length === 0) for (const write of writes) write.reject(error);
      return;
    }
    for (const write of done) write.resolve();
  }

  private connection(): SqliteConnection {
    return (this.dataSource.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection;
  }

  private statement(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.connection().prepare(sql);
      if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
