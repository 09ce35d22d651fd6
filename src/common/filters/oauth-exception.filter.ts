import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { DomainError } from '../errors/domain-error';
import { ROOT_LOGGER } from '../logging/logging.module';
import { OUTAGE_MESSAGE, unexpectedFailure } from './unexpected-failure';

/** An RFC 6749 / RFC 6750 error: `{"error": code, "error_description": text}`. */
export class OAuthError extends DomainError {
  constructor(status: number, error: string, description: string, headers: Record<string, string> = {}) {
    super(`oauth.${error}`, status, { error, error_description: description }, headers);
  }

  static invalidToken(description: string): OAuthError {
    return new OAuthError(401, 'invalid_token', description, {
      'WWW-Authenticate': `Bearer realm="arbor", error="invalid_token", error_description="${description}"`,
    });
  }
}

/**
 * Errors on the Nest-served /oauth routes, as RFC 6749 bodies (the provider renders its own the same
 * way). An unreachable database or Redis is a 503 `temporarily_unavailable`; anything else unexpected
 * is a logged 500 `server_error` with the request id, never a stack.
 */
@Catch()
export class OAuthExceptionFilter implements ExceptionFilter {
  constructor(@Inject(ROOT_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    if (res.headersSent) return;
    res.setHeader('Cache-Control', 'no-store');
    if (exception instanceof OAuthError) {
      for (const [name, value] of Object.entries(exception.headers)) res.setHeader(name, value);
      res.status(exception.status).json(exception.body);
      return;
    }
    if (exception instanceof HttpException && exception.getStatus() < 500) {
      const status = exception.getStatus();
      res.status(status).json({
        error: status === 404 ? 'not_found' : 'invalid_request',
        error_description: exception.message,
      });
      return;
    }
    const failure = unexpectedFailure(exception, this.logger, req);
    for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value);
    res.status(failure.status).json(
      failure.outage
        ? { error: 'temporarily_unavailable', error_description: OUTAGE_MESSAGE }
        : {
            error: 'server_error',
            error_description: `A server error occurred (request ${failure.requestId ?? 'unknown'}).`,
          },
    );
  }
}
