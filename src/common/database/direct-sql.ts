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

  private statement(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      const { databaseConnection } = this.dataSource.driver as unknown as {
        databaseConnection: SqliteConnection;
      };
      statement = databaseConnection.prepare(sql);
      if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
