import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Starts real MariaDB and Redis servers from the installed Debian packages on temporary directories and
 * loopback ports, for the test run only. No Docker here: the binaries are run directly.
 */
export interface RunningService {
  url: string;
  pid: number;
  dir: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function findBinary(candidates: string[]): string {
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  throw new Error(`none of ${candidates.join(', ')} is installed; run .ci/run or apt-get install the server`);
}

async function waitFor(
  check: () => boolean,
  what: string,
  child: ChildProcess,
  timeoutMs = 30000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready in ${timeoutMs} ms`);
}

/** `bufferPool`: InnoDB's cache; the tests' small databases need little, a benchmark sizes it like a server. */
export async function startMariaDb(bufferPool = '64M'): Promise<RunningService> {
  const mariadbd = findBinary(['/usr/sbin/mariadbd', '/usr/sbin/mysqld']);
  const installDb = findBinary(['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db']);
  const client = findBinary(['/usr/bin/mariadb', '/usr/bin/mysql']);
  const dir = mkdtempSync(join(tmpdir(), 'arbor-mariadb-'));
  const dataDir = join(dir, 'data');
  const socket = join(dir, 'mariadb.sock');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  execFileSync(
    installDb,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...asRoot,
    ],
    { stdio: 'ignore' },
  );
  const child = spawn(
    mariadbd,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${join(dir, 'mariadb.pid')}`,
      '--skip-name-resolve',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      `--innodb-buffer-pool-size=${bufferPool}`,
      '--innodb-flush-log-at-trx-commit=2',
      '--max-connections=500',
      `--log-error=${join(dir, 'error.log')}`,
      ...asRoot,
    ],
    { stdio: 'ignore', detached: true },
  );
  child.unref();
  const ping = (): boolean => {
    try {
      execFileSync(client, ['--no-defaults', `--socket=${socket}`, '-uroot', '-e', 'SELECT 1'], {
        stdio: 'ignore',
      });
      return true;
    } catch {
      return false;
    }
  };
  await waitFor(ping, 'mariadbd', child);
  const password = 'arbor-test';
  execFileSync(client, [
    '--no-defaults',
    `--socket=${socket}`,
    '-uroot',
    '-e',
    `CREATE USER 'arbor'@'127.0.0.1' IDENTIFIED BY '${password}'; GRANT ALL ON *.* TO 'arbor'@'127.0.0.1'; FLUSH PRIVILEGES;`,
  ]);
  // mariadb:// selects TypeORM's MariaDB dialect.
  return { url: `mariadb://arbor:${password}@127.0.0.1:${port}`, pid: child.pid ?? 0, dir };
}

/** A throwaway redis-server; on `port` when given, to start one again where a stopped one was. */
export async function startRedis(port?: number): Promise<RunningService> {
  const redis = findBinary(['/usr/bin/redis-server']);
  const dir = mkdtempSync(join(tmpdir(), 'arbor-redis-'));
  port ??= await freePort();
  const child = spawn(
    redis,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: 'ignore', detached: true },
  );
  child.unref();
  const cli = findBinary(['/usr/bin/redis-cli']);
  await waitFor(
    () => {
      try {
        return (
          execFileSync(cli, ['-p', String(port), 'PING'], { stdio: ['ignore', 'pipe', 'ignore'] })
            .toString()
            .trim() === 'PONG'
        );
      } catch {
        return false;
      }
    },
    'redis-server',
    child,
  );
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid ?? 0, dir };
}

export function stopService(service: RunningService): void {
  try {
    process.kill(service.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline && isRunning(service.pid)) execFileSync('sleep', ['0.1']);
  rmSync(service.dir, { recursive: true, force: true });
}

/**
 * Whether the process still runs. One this process started stays a zombie until its exit is reaped
 * by the event loop, which this synchronous wait blocks: a zombie counts as ended.
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; the command name may hold spaces, the state follows ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
