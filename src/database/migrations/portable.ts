import type { QueryRunner, TableColumnOptions } from 'typeorm';

/**
 * Column helpers for migrations written with TypeORM's Table API, which renders the right DDL for
 * SQLite and MySQL/MariaDB from one description. Driver-specific details (the "now" default of
 * created/updated columns) come from the driver itself.
 */
export function portable(queryRunner: QueryRunner) {
  const types = queryRunner.connection.driver.mappedDataTypes;
  const isMysql = ['mysql', 'mariadb'].includes(queryRunner.connection.options.type);
  return {
    /** Column options for any-Unicode text (names, summaries), whatever the database's default charset. */
    utf8: (isMysql
      ? { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' }
      : {}) as Partial<TableColumnOptions>,
    id: (name = 'id'): TableColumnOptions => ({
      name,
      // SQLite only autoincrements an INTEGER PRIMARY KEY; MySQL reads `integer` as `int`.
      type: 'integer',
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'increment',
    }),
    string: (
      name: string,
      length: number,
      options: Partial<TableColumnOptions> = {},
    ): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      ...options,
    }),
    int: (name: string, options: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
      name,
      type: 'integer',
      ...options,
    }),
    smallint: (name: string, options: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
      name,
      type: 'smallint',
      ...options,
    }),
    boolean: (name: string, defaultValue: boolean): TableColumnOptions => ({
      name,
      type: 'boolean',
      // Both drivers store booleans as 0/1; a numeric default reads back the same on each.
      default: defaultValue ? 1 : 0,
    }),
    datetime: (name: string, options: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
      name,
      type: 'datetime',
      ...options,
    }),
    createdAt: (name = 'created_at'): TableColumnOptions => ({
      name,
      type: 'datetime',
      precision: types.createDatePrecision,
      default: types.createDateDefault,
    }),
    updatedAt: (name = 'updated_at'): TableColumnOptions => ({
      name,
      type: 'datetime',
      precision: types.updateDatePrecision,
      default: types.updateDateDefault,
      // MySQL keeps the column current itself; on SQLite TypeORM sets it on every update.
      ...(isMysql ? { onUpdate: types.updateDateDefault } : {}),
    }),
  };
}
