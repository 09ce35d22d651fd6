import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { DirectSql } from './direct-sql';

describe('DirectSql.grouped (SQLite)', () => {
  let dir: string;
  let file: string;
  let dataSource: DataSource;
  let sql: DirectSql;
  const insert = (id: number) =>
    sql.grouped('INSERT INTO items (id, name) VALUES (?, ?)', [id, `item ${id}`]);
  const ids = async () => {
    const rows: { id: number }[] = await dataSource.query('SELECT id FROM items ORDER BY id');
    return rows.map((r) => r.id);
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbor-direct-sql-'));
    file = join(dir, 'direct.sqlite');
    dataSource = new DataSource({ type: 'better-sqlite3', database: file });
    await dataSource.initialize();
    await dataSource.query('PRAGMA journal_mode = WAL');
    await dataSource.query('CREATE TABLE items (id integer PRIMARY KEY, name varchar(32) NOT NULL)');
    sql = new DirectSql(dataSource);
  });
  afterEach(async () => {
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits the writes of one turn together, each done only once it is committed', async () => {
    const writes = [insert(1), insert(2), insert(3)];
    // Nothing is written within the turn that asked.
    expect(await ids()).toEqual([]);
    await Promise.all(writes);
    expect(await ids()).toEqual([1, 2, 3]);
    // Committed: another connection to the file sees them.
    const other = new BetterSqlite3(file, { readonly: true });
    try {
      expect(other.prepare('SELECT count(*) AS n FROM items').get()).toEqual({ n: 3 });
    } finally {
      other.close();
    }
  });

  it('fails a failing write alone; the others of its turn commit', async () => {
    await insert(1);
    const results = await Promise.allSettled([insert(2), insert(1), insert(3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE constraint failed/);
    expect(await ids()).toEqual([1, 2, 3]);
  });

  it('joins a transaction open on the shared connection, and goes with it', async () => {
    await expect(
      dataSource.transaction(async () => {
        await Promise.all([insert(1), insert(2)]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await ids()).toEqual([]);
    await insert(4);
    expect(await ids()).toEqual([4]);
  });
});
