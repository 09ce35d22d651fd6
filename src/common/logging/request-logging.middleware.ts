import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { requestContext } from './request-context';

const INCOMING_ID = /^[A-Za-z0-9._-]{8,128}$/;

/**
 * Gives each request an id (a sane incoming X-Request-Id is kept), echoes it back, runs the rest of the
 * request inside that context and logs one line when the response finishes. Only the path is logged:
 * query strings may carry codes and tokens.
 */
export function requestLogging(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.header('x-request-id');
    const requestId = incoming && INCOMING_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    const http = {
      ip: req.ip ?? '',
      userAgent: req.get('user-agent') ?? '',
      method: req.method,
      path: req.path,
      body: (): unknown => req.body,
    };
    requestContext.run({ requestId, http }, () => {
      res.on('finish', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        logger.info(
          {
            method: req.method,
            path: req.path,
            status: res.statusCode,
            ms: Math.round(ms * 10) / 10,
            ip: req.ip,
          },
          'request',
        );
      });
      next();
    });
  };
}
