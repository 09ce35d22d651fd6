import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { requestContext, type RequestFacts } from './request-context';

const INCOMING_ID = /^[A-Za-z0-9._-]{8,128}$/;

/**
 * Gives a request an id (a sane incoming X-Request-Id is kept), echoes it back, runs the rest of the
 * request (`next`) inside that context and logs one line when the response finishes. Only the path is
 * logged: query strings may carry codes and tokens. For Express requests (requestLogging) and for the
 * OAuth provider's, which the HTTP server hands over before Express.
 */
export function trackRequest(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  facts: RequestFacts,
  next: () => void,
): void {
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', requestId);
  requestContext.run({ requestId, http: facts }, () => {
    if (logger.isLevelEnabled('info')) {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        logger.info(
          {
            method: facts.method,
            path: facts.path,
            status: res.statusCode,
            ms: Math.round(ms * 10) / 10,
            ip: facts.ip,
          },
          'request',
        );
      });
    }
    next();
  });
}

export function requestLogging(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const facts: RequestFacts = {
      ip: req.ip ?? '',
      userAgent: req.get('user-agent') ?? '',
      method: req.method,
      path: req.path,
      body: (): unknown => req.body,
    };
    trackRequest(logger, req, res, facts, next);
  };
}
