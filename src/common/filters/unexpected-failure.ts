import type { Request } from 'express';
import type { Logger } from 'pino';
import { isServiceOutage, OUTAGE_RETRY_AFTER_SECONDS } from '../errors/service-outage';
import { currentRequestId } from '../logging/request-context';

/** An error no rule answered, as every transport's filter renders it. */
export interface UnexpectedFailure {
  /** 503 when a backing service (the database, Redis) could not be reached; else 500. */
  status: 503 | 500;
  outage: boolean;
  /** Retry-After for an outage. */
  headers: Record<string, string>;
  requestId: string | null;
}

/** Logs the error with the request's method and path, and says how to answer it. */
export function unexpectedFailure(exception: unknown, logger: Logger, req: Request): UnexpectedFailure {
  const outage = isServiceOutage(exception);
  logger.error(
    { err: exception, method: req.method, path: req.path },
    outage ? 'backing service unreachable' : 'unhandled error',
  );
  return {
    status: outage ? 503 : 500,
    outage,
    headers: outage ? { 'Retry-After': String(OUTAGE_RETRY_AFTER_SECONDS) } : {},
    requestId: currentRequestId() ?? null,
  };
}

/** What the 503 says, wherever it is rendered. */
export const OUTAGE_MESSAGE = 'The service is temporarily unavailable, try again shortly.';
