import type { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import type { DirectSql } from '../../common/database/direct-sql';
import { OidcPayloadEntity } from './entities/oidc-payload.entity';

/** One `oidc_payloads` row as the adapter reads it. */
export interface PayloadRow {
  payload: string;
  consumedAt: Date | null;
  expiresAt: Date | null;
}

export interface PayloadWrite {
  model: string;
  id: string;
  payload: string;
  grantId: string | null;
  uid: string | null;
  userCode: string | null;
  accountId: string | null;
  expiresAt: Date | null;
}

type Lookup = 'id' | 'uid' | 'userCode';

/**
 * The provider adapter's statements on `oidc_payloads`, written once per dialect (SQLite, MySQL/MariaDB)
 * from the entity's metadata and run through DirectSql: every OAuth request runs several, and TypeORM's
 * query builder and query pipeline cost more CPU than the statements themselves. Dates go through the
 * driver's own conversions, so rows are stored and read exactly as the entity would have them.
 */
export class OidcPayloadSql {
  private readonly select: Record<Lookup, string>;
  private readonly upsertSql: string;
  private readonly consumeSql: string;
  private readonly destroySql: string;
  private readonly revokeSql: string;
  private readonly consumedAt: ColumnMetadata;
  private readonly expiresAt: ColumnMetadata;

  constructor(
    private readonly dataSource: DataSource,
    private readonly sql: DirectSql,
  ) {
    const metadata = dataSource.getMetadata(OidcPayloadEntity);
    const { driver } = dataSource;
    const column = (property: keyof OidcPayloadEntity): ColumnMetadata => {
      const found = metadata.findColumnWithPropertyName(property);
      if (!found) throw new Error(`oidc_payloads has no column for ${property}`);
      return found;
    };
    const name = (property: keyof OidcPayloadEntity) => driver.escape(column(property).databaseName);
    const table = driver.escape(metadata.tableName);
    this.consumedAt = column('consumedAt');
    this.expiresAt = column('expiresAt');
    const key = `${name('model')} = ? AND ${name('id')} = ?`;
    const read = `SELECT ${name('payload')} AS payload, ${name('consumedAt')} AS consumed_at, ${name('expiresAt')} AS expires_at FROM ${table} WHERE ${name('model')} = ? AND`;
    this.select = {
      id: `${read} ${name('id')} = ?`,
      uid: `${read} ${name('uid')} = ? LIMIT 1`,
      userCode: `${read} ${name('userCode')} = ? LIMIT 1`,
    };
    const written: (keyof OidcPayloadEntity)[] = [
      'model',
      'id',
      'payload',
      'grantId',
      'uid',
      'userCode',
      'accountId',
      'consumedAt',
      'expiresAt',
    ];
    const updated = written.slice(2).map(name);
    const insert = `INSERT INTO ${table} (${written.map(name).join(', ')}) VALUES (${written.map(() => '?').join(', ')})`;
    this.upsertSql =
      driver.options.type === 'better-sqlite3'
        ? `${insert} ON CONFLICT (${name('model')}, ${name('id')}) DO UPDATE SET ${updated.map((c) => `${c} = excluded.${c}`).join(', ')}`
        : `${insert} ON DUPLICATE KEY UPDATE ${updated.map((c) => `${c} = VALUES(${c})`).join(', ')}`;
    this.consumeSql = `UPDATE ${table} SET ${name('consumedAt')} = ? WHERE ${key}`;
    this.destroySql = `DELETE FROM ${table} WHERE ${key}`;
    this.revokeSql = `DELETE FROM ${table} WHERE ${name('model')} = ? AND ${name('grantId')} = ?`;
  }

  async find(model: string, by: Lookup, value: string): Promise<PayloadRow | undefined> {
    const rows = await this.sql.rows<{ payload: string; consumed_at: unknown; expires_at: unknown }>(
      this.select[by],
      [model, value],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      payload: row.payload,
      consumedAt: this.hydrate(row.consumed_at, this.consumedAt),
      expiresAt: this.hydrate(row.expires_at, this.expiresAt),
    };
  }

  async upsert(row: PayloadWrite): Promise<void> {
    await this.sql.grouped(this.upsertSql, [
      row.model,
      row.id,
      row.payload,
      row.grantId,
      row.uid,
      row.userCode,
      row.accountId,
      null,
      this.persist(row.expiresAt, this.expiresAt),
    ]);
  }

  async consume(model: string, id: string, at: Date): Promise<void> {
    await this.sql.grouped(this.consumeSql, [this.persist(at, this.consumedAt), model, id]);
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.sql.grouped(this.destroySql, [model, id]);
  }

  async revokeByGrantId(model: string, grantId: string): Promise<void> {
    await this.sql.grouped(this.revokeSql, [model, grantId]);
  }

  private hydrate(value: unknown, column: ColumnMetadata): Date | null {
    return value === null || value === undefined
      ? null
      : (this.dataSource.driver.prepareHydratedValue(value, column) as Date);
  }

  private persist(value: Date | null, column: ColumnMetadata): unknown {
    return value === null ? null : this.dataSource.driver.preparePersistentValue(value, column);
  }
}
