import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

export interface ArborProcess {
  child: ChildProcess;
  /** Every line the process wrote to stdout and stderr. */
  logs: string[];
  exited: Promise<ExitStatus>;
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
}

/**
 * One of Arbor's entry points (`src/<entry>.ts` through ts-node) as a real process, returned once it
 * logs `readyLine`; a process that does not get there is killed and its log thrown.
 */
export async function startArborProcess(
  entry: 'main' | 'worker',
  cwd: string,
  env: Record<string, string>,
  readyLine: string,
): Promise<ArborProcess> {
  const child = spawn(
    process.execPath,
    ['-r', require.resolve('ts-node/register/transpile-only'), join(ROOT, 'src', `${entry}.ts`)],
    {
      cwd,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
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
  const exited = new Promise<ExitStatus>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForLog = async (text: string, timeoutMs = 30000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!logs.some((line) => line.includes(text))) {
      if (child.exitCode !== null)
        throw new Error(`${entry} exited (${child.exitCode}):\n${logs.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`no "${text}" in ${timeoutMs} ms:\n${logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  try {
    await waitForLog(readyLine, 60000);
  } catch (error) {
    await stop('SIGKILL');
    throw error;
  }
  return { child, logs, exited, waitForLog, stop };
}
