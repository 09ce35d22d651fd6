import { readFileSync, rmSync } from 'node:fs';
import { stopService, type RunningService } from './services';

export default function globalTeardown(): void {
  const stateFile = process.env.ARBOR_TEST_STATE_FILE;
  if (!stateFile) return;
  const services = JSON.parse(readFileSync(stateFile, 'utf8')) as RunningService[];
  for (const service of services) stopService(service);
  rmSync(stateFile, { force: true });
}
