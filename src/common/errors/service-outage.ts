/**
 * Whether an error says that a service Arbor stands on (the database, Redis) cannot be reached right
 * now, rather than that the request was wrong or the code is broken. Such a request is answered 503
 * with Retry-After: the client may try again, and nothing was written (a failed unit of work rolls back).
 */
export function isServiceOutage(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const e = error as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    driverError?: unknown;
    cause?: unknown;
  };
  if (typeof e.name === 'string' && OUTAGE_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && OUTAGE_CODES.has(e.code)) return true;
  if (
    typeof e.message === 'string' &&
    OUTAGE_MESSAGES.some((start) => (e.message as string).startsWith(start))
  ) {
    return true;
  }
  // TypeORM wraps the driver's error; Node and ioredis chain theirs as `cause`.
  return isServiceOutage(e.driverError, depth + 1) || isServiceOutage(e.cause, depth + 1);
}

/** ioredis: a command that ran out of reconnection attempts. */
const OUTAGE_NAMES = new Set(['MaxRetriesPerRequestError']);

const OUTAGE_CODES = new Set([
  // The network: refused, reset or unreachable peers, and name lookups that could not be answered.
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // mysql2: the server went away, or refuses more connections.
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  // SQLite: another connection held the lock past the busy timeout.
  'SQLITE_BUSY',
]);

/** ioredis's own errors carry no code: a closed connection, and one that queues nothing while down. */
const OUTAGE_MESSAGES = ['Connection is closed.', "Stream isn't writeable"];

/** Seconds a client is asked to wait before trying again. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;
