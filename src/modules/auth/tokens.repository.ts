import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { DirectSql } from '../../common/database/direct-sql';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { ApiTokenEntity } from './entities/api-token.entity';

/** What authenticating a request needs to know about its token. */
export type PresentedToken = Pick<ApiTokenEntity, 'id' | 'userId' | 'lastUsedAt' | 'expiresAt'>;

const PRESENTED_COLUMNS: (keyof PresentedToken)[] = ['id', 'userId', 'lastUsedAt', 'expiresAt'];

/** What a login stores for its new session; `created_at` takes the column's default. */
export type NewToken = Pick<
  ApiTokenEntity,
  'userId' | 'keyHash' | 'lastUsedAt' | 'expiresAt' | 'userAgent' | 'ip'
>;

const NEW_TOKEN_COLUMNS: (keyof NewToken)[] = [
  'userId',
  'keyHash',
  'lastUsedAt',
  'expiresAt',
  'userAgent',
  'ip',
];

interface TokenStatements {
  presentedColumns: ColumnMetadata[];
  findByKeyHash: string;
  newTokenColumns: ColumnMetadata[];
  insert: string;
}

@Injectable()
export class TokensRepository {
  private statements?: TokenStatements;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly direct: DirectSql,
  ) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(ApiTokenEntity);
  }

  /**
   * Runs on every authenticated request: one prepared statement for every key through DirectSql, where
   * the query builder and TypeORM's pipeline cost more than the lookup; values are hydrated as find() would.
   */
  async findByKeyHash(keyHash: string): Promise<PresentedToken | null> {
    const sql = this.sql();
    const rows = await this.direct.rows<Record<string, unknown>>(sql.findByKeyHash, [keyHash]);
    const row = rows[0];
    if (!row) return null;
    const token: Record<string, unknown> = {};
    for (const c of sql.presentedColumns)
      token[c.propertyName] = this.dataSource.driver.prepareHydratedValue(row[c.databaseName], c);
    return token as PresentedToken;
  }

  /** One per login: a raw INSERT with bound values, converted as TypeORM's insert() converts them. */
  async insert(manager: EntityManager, token: NewToken): Promise<void> {
    const sql = this.sql();
    const driver = this.dataSource.driver;
    await this.direct.execute(
      sql.insert,
      sql.newTokenColumns.map((c): unknown =>
        driver.preparePersistentValue(token[c.propertyName as keyof NewToken], c),
      ),
      manager,
    );
  }

  async touch(manager: EntityManager, id: number, lastUsedAt: Date): Promise<void> {
    await this.repo(manager).update({ id }, { lastUsedAt });
  }

  async deleteById(manager: EntityManager, id: number): Promise<void> {
    await this.repo(manager).delete({ id });
  }

  /** A user's sessions still within their absolute lifetime, most recently used first. */
  listLiveForUser(userId: number, now: Date): Promise<ApiTokenEntity[]> {
    return this.repo()
      .createQueryBuilder('t')
      .select(['t.id', 't.createdAt', 't.lastUsedAt', 't.expiresAt', 't.userAgent', 't.ip'])
      .where('t.userId = :userId', { userId })
      .andWhere('t.expiresAt > :now', { now })
      .orderBy('t.lastUsedAt', 'DESC')
      .addOrderBy('t.id', 'DESC')
      .limit(100)
      .getMany();
  }

  /** Deletes one session only when it is this user's; whether it was. */
  async deleteForUser(manager: EntityManager, userId: number, id: number): Promise<boolean> {
    return ((await this.repo(manager).delete({ id, userId })).affected ?? 0) > 0;
  }

  async deleteAllForUser(manager: EntityManager, userId: number): Promise<void> {
    await this.repo(manager).delete({ userId });
  }

  private sql(): TokenStatements {
    if (this.statements) return this.statements;
    const metadata = this.dataSource.getMetadata(ApiTokenEntity);
    const escape = (name: string) => this.dataSource.driver.escape(name);
    const column = (property: string): ColumnMetadata => {
      const found = metadata.findColumnWithPropertyName(property);
      if (!found) throw new Error(`ApiTokenEntity has no column ${property}`);
      return found;
    };
    const table = escape(metadata.tableName);
    const presentedColumns = PRESENTED_COLUMNS.map(column);
    const newTokenColumns = NEW_TOKEN_COLUMNS.map(column);
    this.statements = {
      presentedColumns,
      findByKeyHash:
        `SELECT ${presentedColumns.map((c) => escape(c.databaseName)).join(', ')} FROM ${table} ` +
        `WHERE ${escape(column('keyHash').databaseName)} = ?`,
      newTokenColumns,
      insert:
        `INSERT INTO ${table} (${newTokenColumns.map((c) => escape(c.databaseName)).join(', ')}) ` +
        `VALUES (${newTokenColumns.map(() => '?').join(', ')})`,
    };
    return this.statements;
  }
}
