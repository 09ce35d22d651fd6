import { EventEmitter } from 'node:events';
import type { QueueBase } from 'bullmq';
import type { Logger } from 'pino';
import { isServiceOutage } from '../errors/service-outage';

/** While a connection stays down, it is reported again at most this often. */
const REPEAT_MS = 60_000;

/**
 * ioredis (and BullMQ on top of it) emits 'error' on every failed reconnection attempt, several a
 * second, and prints each to stderr when nobody listens. This turns an outage into a few structured
 * lines: the loss once (again each minute it lasts), and the recovery once. `purpose` says which
 * connection it is; the message never holds the URL or its password.
 */
export function logRedisOutages(connection: EventEmitter, logger: Logger, purpose: string): void {
  watchConnection(connection, logger, purpose, true);
}

function watchConnection(
  connection: EventEmitter,
  logger: Logger,
  purpose: string,
  othersToo: boolean,
): void {
  let downSince: number | null = null;
  /** When this outage was last logged; null while up or not yet logged. */
  let reportedAt: number | null = null;
  connection.on('error', (error: unknown) => {
    if (!isServiceOutage(error)) {
      if (othersToo) logger.error({ redis: purpose, err: error }, 'Redis client error');
      return;
    }
    const now = Date.now();
    downSince ??= now;
    if (reportedAt !== null && now - reportedAt < REPEAT_MS) return;
    reportedAt = now;
    logger.warn(
      {
        redis: purpose,
        err: error instanceof Error ? error.message : String(error),
        down_ms: now - downSince,
      },
      'Redis unreachable; reconnecting',
    );
  });
  connection.on('ready', () => {
    if (downSince === null) return;
    logger.info({ redis: purpose, down_ms: Date.now() - downSince }, 'Redis reachable again');
    downSince = null;
    reportedAt = null;
  });
}

/**
 * A BullMQ queue or worker: its connections' state through their backend (which says when they are
 * ready again), and whatever else it reports (a worker's failing loop) as an error. Its own 'error'
 * event repeats the backend's; those are left to the backend's log.
 */
export function logBullMqErrors(source: QueueBase, logger: Logger, purpose: string): void {
  // The Redis backend is an EventEmitter forwarding its connections' 'error' and 'ready'.
  const backend = source.getBackend();
  if (backend instanceof EventEmitter) watchConnection(backend, logger, purpose, false);
  source.on('error', (error: unknown) => {
    if (!isServiceOutage(error)) logger.error({ redis: purpose, err: error }, 'BullMQ error');
  });
}
