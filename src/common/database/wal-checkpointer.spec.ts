import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import type { AppConfig } from '../../config/app-config';
import { WalCheckpointer } from './wal-checkpointer';

describe('WalCheckpointer', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'arbor-wal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The rows the database file holds by itself: what was checkpointed out of the log. */
  const rowsInFile = (path: string): number => {
    const copy = join(dir, `copy-${Date.now()}.sqlite`);
    copyFileSync(path, copy);
    const db = new Database(copy, { readonly: true });
    try {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'items'").get() as {
        n: number;
      };
      return tables.n === 0 ? 0 : (db.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  const writer = (path: string) => {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    // Only the thread may checkpoint: the writer never does.
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, value TEXT)');
    const insert = db.prepare('INSERT INTO items (value) VALUES (?)');
    for (let i = 0; i < 100; i++) insert.run(`item ${i}`);
    return db;
  };

  it('copies committed writes from the log into the database file from its own thread', async () => {
    const path = join(dir, 'arbor.sqlite');
    const db = writer(path);
    expect(rowsInFile(path)).toBe(0);
    const checkpointer = new WalCheckpointer(
      { database: { kind: 'sqlite', path } } as AppConfig,
      pino({ level: 'silent' }),
    );
    checkpointer.onApplicationBootstrap();
    try {
      const deadline = Date.now() + 5000;
      while (rowsInFile(path) < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(rowsInFile(path)).toBe(100);
    } finally {
      await checkpointer.onApplicationShutdown();
      db.close();
    }
  });

  it('starts nothing for an in-memory database or MySQL', async () => {
    for (const database of [
      { kind: 'sqlite', path: ':memory:' },
      { kind: 'mysql', url: 'mysql://localhost/x', poolSize: 1 },
    ]) {
      const checkpointer = new WalCheckpointer({ database } as AppConfig, pino({ level: 'silent' }));
      checkpointer.onApplicationBootstrap();
      await expect(checkpointer.onApplicationShutdown()).resolves.toBeUndefined();
    }
  });
});
