import { type ArborProcess, startArborProcess } from './arbor-process';

export type WorkerProcess = ArborProcess;

/** The real worker process (src/worker.ts), for tests of the queue across processes. */
export function startWorkerProcess(cwd: string, env: Record<string, string>): Promise<WorkerProcess> {
  return startArborProcess('worker', cwd, env, 'Arbor worker is running');
}
