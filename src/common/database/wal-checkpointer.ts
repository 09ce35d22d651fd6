import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { AppConfig } from '../../config/app-config';
import { ROOT_LOGGER } from '../logging/logging.module';

const INTERVAL_MS = 200;

/**
 * Runs in the worker thread: its own connection to the database file, copying the WAL back into it
 * ("checkpointing") without waiting for or blocking anyone. Inline, so it needs no separate build output.
 */
const CHECKPOINT_LOOP = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage(String(error && error.message));
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * SQLite copies its write-ahead log back into the database file on the commit that takes the log past
 * `wal_autocheckpoint` pages: on the API's only connection, on its main thread, two fsyncs included. That
 * was half the cost of every small write (an OAuth token, a session, an audit entry). This worker thread
 * checkpoints passively five times a second instead; the main connection's high autocheckpoint
 * (data-source.ts) only finishes the few frames left and lets the log start over. Not for `:memory:`.
 */
@Injectable()
export class WalCheckpointer implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker: { thread: Worker; exited: Promise<unknown> } | undefined;

  constructor(
    private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const { database } = this.config;
    if (database.kind !== 'sqlite' || database.path === ':memory:') return;
    const thread = new Worker(CHECKPOINT_LOOP, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), path: database.path, intervalMs: INTERVAL_MS },
    });
    thread.on('message', (message: string) => this.logger.warn({ message }, 'SQLite checkpoint failed'));
    // Without it the main connection's autocheckpoint still keeps the log bounded, as before.
    thread.on('error', (error) => this.logger.error({ err: error }, 'SQLite checkpoint thread stopped'));
    // The process may end while it runs; the log is checkpointed on the next open either way.
    thread.unref();
    this.worker = { thread, exited: new Promise((resolve) => thread.once('exit', resolve)) };
  }

  async onApplicationShutdown(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    // Referenced again, or an otherwise idle process would end before the thread's exit is seen.
    worker.thread.ref();
    worker.thread.postMessage('stop');
    await worker.exited;
  }
}
