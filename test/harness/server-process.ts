import { type ArborProcess, startArborProcess } from './arbor-process';
import { freePort } from './services';
import { ADMIN_PASSWORD } from './test-app';

export interface ServerProcess extends ArborProcess {
  port: number;
  url: string;
}

/**
 * The real server process (src/main.ts), on a loopback port, for tests about what only a whole
 * process shows: signals, the listener, pools, several replicas. `env` adds the database settings.
 */
export async function startServerProcess(cwd: string, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const server = await startArborProcess(
    'main',
    cwd,
    {
      ADMIN_PASSWORD,
      HOST: '127.0.0.1',
      PORT: String(port),
      BASE_URL: 'http://arbor.test',
      LOGIN_IP_LIMIT: '1000',
      ...env,
    },
    'Arbor is listening',
  );
  return { ...server, port, url: `http://127.0.0.1:${port}` };
}
