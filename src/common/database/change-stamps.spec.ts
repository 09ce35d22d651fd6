import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { ChangeStamps } from './change-stamps';
import { DirectSql } from './direct-sql';

describe('ChangeStamps.current', () => {
  let dir: string;
  let dataSource: DataSource;
  let stamps: ChangeStamps;
  const bumpApps = () =>
    dataSource.query("UPDATE change_stamps SET version = version + 1 WHERE topic = 'apps'");

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbor-stamps-'));
    dataSource = new DataSource({ type: 'better-sqlite3', database: join(dir, 'stamps.sqlite') });
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE change_stamps (topic varchar(32) PRIMARY KEY, version integer)');
    await dataSource.query("INSERT INTO change_stamps VALUES ('apps', 0), ('org', 0)");
    stamps = new ChangeStamps(new DirectSql(dataSource));
  });
  afterEach(async () => {
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the callers of one turn one read of every stamp', async () => {
    const [apps, org] = await Promise.all([stamps.current(['apps']), stamps.current(['org'])]);
    expect(apps).toBe(org);
    expect(Object.fromEntries(apps)).toEqual({ apps: 0, org: 0 });
  });

  it('reads after the caller asked: a write committed meanwhile is seen, and later callers read again', async () => {
    const asked = stamps.current(['apps']);
    await bumpApps();
    expect((await asked).get('apps')).toBe(1);
    await bumpApps();
    expect((await stamps.current(['apps'])).get('apps')).toBe(2);
  });

  it("reads inside a transaction with the transaction's own view", async () => {
    await dataSource.transaction(async (manager) => {
      await manager.query("UPDATE change_stamps SET version = 7 WHERE topic = 'org'");
      expect((await stamps.current(['org'], manager)).get('org')).toBe(7);
    });
  });
});
