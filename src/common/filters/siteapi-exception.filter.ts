import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { DomainError } from '../errors/domain-error';
import { ROOT_LOGGER } from '../logging/logging.module';
import { OUTAGE_MESSAGE, unexpectedFailure } from './unexpected-failure';

const DEFAULT_DETAIL: Record<number, string> = {
  400: 'Bad request.',
  401: 'Authentication credentials were not provided.',
  403: 'You do not have permission to perform this action.',
  404: 'Not found.',
  405: 'Method not allowed.',
  413: 'Request entity too large.',
  415: 'Unsupported media type.',
  429: 'Request was throttled.',
};

/**
 * Renders every error on the REST API as ArkID/DRF does. Domain errors carry their body; framework
 * HTTP errors become `{"detail": …}`; a database or Redis that cannot be reached, a logged 503 with
 * Retry-After; anything else is a logged 500 with the request id and no stack.
 */
@Catch()
export class SiteApiExceptionFilter implements ExceptionFilter {
  constructor(@Inject(ROOT_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    if (res.headersSent) return;
    const { status, body, headers } = this.render(exception, req);
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.status(status).json(body);
  }

  private render(
    exception: unknown,
    req: Request,
  ): { status: number; body: Record<string, unknown>; headers: Record<string, string> } {
    if (exception instanceof DomainError) {
      return { status: exception.status, body: exception.body, headers: exception.headers };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status < 500) {
        return { status, body: { detail: DEFAULT_DETAIL[status] ?? exception.message }, headers: {} };
      }
    }
    const bodyError = asBodyParserError(exception);
    if (bodyError) return { status: bodyError.status, body: { detail: bodyError.detail }, headers: {} };
    const failure = unexpectedFailure(exception, this.logger, req);
    return {
      status: failure.status,
      body: {
        detail: failure.outage ? OUTAGE_MESSAGE : 'A server error occurred.',
        request_id: failure.requestId,
      },
      headers: failure.headers,
    };
  }
}

/** Errors thrown by the JSON/form body parsers carry `type` and `status`; they are the client's fault. */
export function asBodyParserError(error: unknown): { status: number; detail: string } | null {
  if (typeof error !== 'object' || error === null) return null;
  const e = error as { type?: unknown; status?: unknown; message?: unknown };
  if (typeof e.type !== 'string' || typeof e.status !== 'number' || e.status >= 500) return null;
  switch (e.type) {
    case 'entity.parse.failed':
      return { status: 400, detail: `JSON parse error - ${String(e.message)}` };
    case 'entity.too.large':
      return { status: 413, detail: DEFAULT_DETAIL[413] };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, detail: DEFAULT_DETAIL[415] };
    default:
      return { status: 400, detail: String(e.message) };
  }
}
