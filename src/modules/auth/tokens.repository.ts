import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { ApiTokenEntity } from './entities/api-token.entity';

/** What authenticating a request needs to know about its token. */
export type PresentedToken = Pick<ApiTokenEntity, 'id' | 'userId' | 'lastUsedAt' | 'expiresAt'>;

const PRESENTED_COLUMNS: (keyof PresentedToken)[] = ['id', 'userId', 'lastUsedAt', 'expiresAt'];

@Injectable()
export class TokensRepository {
  private presentedQuery?: { sql: string; columns: ColumnMetadata[] };

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(ApiTokenEntity);
  }

  /**
   * Runs on every authenticated request: a raw query with a bound parameter is one prepared statement
   * for every key, where the query builder costs more than the lookup; values are hydrated as find() would.
   */
  async findByKeyHash(keyHash: string): Promise<PresentedToken | null> {
    const query = (this.presentedQuery ??= this.buildPresentedQuery());
    const rows: Record<string, unknown>[] = await this.dataSource.query(query.sql, [keyHash]);
    const row = rows[0];
    if (!row) return null;
    const token: Record<string, unknown> = {};
    for (const c of query.columns)
      token[c.propertyName] = this.dataSource.driver.prepareHydratedValue(row[c.databaseName], c);
    return token as PresentedToken;
  }

  private buildPresentedQuery(): { sql: string; columns: ColumnMetadata[] } {
    const metadata = this.dataSource.getMetadata(ApiTokenEntity);
    const escape = (name: string) => this.dataSource.driver.escape(name);
    const column = (property: string): ColumnMetadata => {
      const found = metadata.findColumnWithPropertyName(property);
      if (!found) throw new Error(`ApiTokenEntity has no column ${property}`);
      return found;
    };
    const columns = PRESENTED_COLUMNS.map(column);
    return {
      sql:
        `SELECT ${columns.map((c) => escape(c.databaseName)).join(', ')} FROM ${escape(metadata.tableName)} ` +
        `WHERE ${escape(column('keyHash').databaseName)} = ?`,
      columns,
    };
  }

  async insert(manager: EntityManager, token: Partial<ApiTokenEntity>): Promise<void> {
    // insert() rather than save(): no read-back of the row, which nothing here needs.
    await this.repo(manager).insert(token);
  }

  async touch(manager: EntityManager, id: number, lastUsedAt: Date): Promise<void> {
    await this.repo(manager).update({ id }, { lastUsedAt });
  }

  async deleteById(manager: EntityManager, id: number): Promise<void> {
    await this.repo(manager).delete({ id });
  }

  async deleteAllForUser(manager: EntityManager, userId: number): Promise<void> {
    await this.repo(manager).delete({ userId });
  }
}

