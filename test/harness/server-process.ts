import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './services';
import { ADMIN_PASSWORD } from './test-app';

const ROOT = join(__dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Every line the process wrote to stdout and stderr. */
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The real server process (src/main.ts through ts-node), on a loopback port, for tests about what only a
 * whole process shows: signals, the listener, pools, several replicas. `env` adds the database settings.
 */
export async function startServerProcess(cwd: string, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['-r', require.resolve('ts-node/register/transpile-only'), join(ROOT, 'src', 'main.ts')],
    {
      cwd,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        ADMIN_PASSWORD,
        HOST: '127.0.0.1',
        PORT: String(port),
        BASE_URL: 'http://arbor.test',
        LOGIN_IP_LIMIT: '1000',
        // ts-node looks for tsconfig.json from the working directory; point it at the checkout's.
        TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  const collect = (chunk: Buffer) => logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForLog = async (text: string, timeoutMs = 30000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!logs.some((line) => line.includes(text))) {
      if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${logs.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`no "${text}" in ${timeoutMs} ms:\n${logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitForLog('Arbor is listening', 60000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, port, url: `http://127.0.0.1:${port}`, logs, exited, waitForLog, stop };
}
