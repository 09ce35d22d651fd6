import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { AppConfig } from '../src/config/app-config';
import { createDataSource } from '../src/database/data-source';
import { ADMIN_PASSWORD, freshDatabaseEnv, testDatabaseKind } from './harness/test-app';

const ROOT = join(__dirname, '..');
const HEADER = 'username,name,email,private_email,mobile,gender,avatar,position,employee_number';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `npm run cli -- import-users` for real: a child process running src/cli.ts through ts-node, on a
 * fresh database, in a temporary working directory (so no .env of the checkout leaks in).
 */
describe(`CLI import-users and export-users (${testDatabaseKind()})`, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let drop: () => Promise<void>;
  let db: DataSource;

  const cli = (...args: string[]): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['-r', require.resolve('ts-node/register/transpile-only'), join(ROOT, 'src', 'cli.ts'), ...args],
        { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  const file = (name: string, lines: string[]): string => {
    const path = join(dir, name);
    writeFileSync(path, lines.join('\n') + '\n');
    return path;
  };
  const users = (): Promise<{ username: string; name: string; private_email: string | null }[]> =>
    db.query('SELECT username, name, private_email FROM users ORDER BY username');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbor-cli-'));
    const database = await freshDatabaseEnv();
    drop = database.drop;
    env = { ...process.env, NODE_ENV: 'test', ADMIN_PASSWORD, LOG_LEVEL: 'warn', ...database.env };
    delete env.REDIS_URL;
    if (!database.env.DATABASE_URL) delete env.DATABASE_URL;
    // ts-node looks for tsconfig.json from the working directory; point it at the checkout's.
    env.TS_NODE_PROJECT = join(ROOT, 'tsconfig.json');
    if (testDatabaseKind() === 'mariadb') {
      const migrated = await cli('migrate');
      expect(migrated).toMatchObject({ code: 0 });
    }
  });

  afterAll(async () => {
    if (db?.isInitialized) await db.destroy();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports a file, shows progress on stderr and prints the summary', async () => {
    const csv = file('users.csv', [
      HEADER,
      'cliwang01,王小明,wang@corp.example,Wang@Home.example,13800000001,1,,"Sales, East",E-001',
      'clili0002,"Li ""Lee""",li@corp.example,,,2,,,',
    ]);
    const run = await cli('import-users', csv);
    expect(run.stderr).toContain('Writing users: 2/2 (100%)');
    expect(run).toMatchObject({
      code: 0,
      stdout: 'Imported 2 rows: created 2, updated 0, unchanged 0.\n',
    });
    db = createDataSource(AppConfig.fromEnvironment(env));
    await db.initialize();
    expect(await users()).toEqual([
      { username: 'admin', name: 'admin', private_email: null },
      { username: 'clili0002', name: 'Li "Lee"', private_email: null },
      { username: 'cliwang01', name: '王小明', private_email: 'wang@home.example' },
    ]);
  });

  it('reports a dry run and writes nothing', async () => {
    const csv = file('dry.csv', ['username,name', 'cliwang01,Renamed', 'clinew001,New']);
    const before = await users();
    const run = await cli('import-users', csv, '--dry-run');
    expect(run).toMatchObject({
      code: 0,
      stdout: 'Dry run, nothing written: 2 rows; would create 1, update 1, leave 0 unchanged.\n',
    });
    expect(await users()).toEqual(before);
  });

  it('exits 1 on a bad file, naming each bad line and its reason, and writes nothing', async () => {
    const csv = file('bad.csv', [
      'username,name,private_email',
      'cligood01,Good,',
      'BAD,Bad,',
      'cligood02,Good,not-an-email',
      'cligood03,Taken,wang@home.example',
    ]);
    const before = await users();
    const run = await cli('import-users', csv);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('line 3: username: Enter a valid username');
    expect(run.stderr).toContain('line 4: private_email: Enter a valid email address.');
    expect(run.stderr).toContain('line 5: private_email: existed');
    expect(run.stderr).toContain('3 bad row(s); nothing was written.');
    expect(run.stderr).not.toContain('Writing users');
    expect(await users()).toEqual(before);
  });

  it('exits 1 for an unknown --node-uid, before reading the file', async () => {
    const csv = file('node.csv', ['username', 'clinode01']);
    const run = await cli('import-users', csv, '--node-uid', 'd_nosuch');
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toContain('No department or group d_nosuch.');
    expect((await users()).map((u) => u.username)).not.toContain('clinode01');
  });

  it('exports every user to a file', async () => {
    const out = join(dir, 'export.csv');
    const run = await cli('export-users', '--output', out);
    expect(run.code).toBe(0);
    const lines = readFileSync(out, 'utf8').split('\r\n');
    expect(lines[0]).toBe(`\ufeff${HEADER}`);
    expect(lines).toContain(
      'cliwang01,王小明,wang@corp.example,wang@home.example,13800000001,1,,"Sales, East",E-001',
    );
    expect(lines.filter(Boolean)).toHaveLength(4);
  });
});
