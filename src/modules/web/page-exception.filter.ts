import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Inject,
  Injectable,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { DomainError } from '../../common/errors/domain-error';
import { asBodyParserError } from '../../common/filters/siteapi-exception.filter';
import { OUTAGE_MESSAGE, unexpectedFailure } from '../../common/filters/unexpected-failure';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { WebPagesService } from './web-pages.service';

interface PageFailure {
  status: number;
  error: string;
  description: string;
  headers: Record<string, string>;
}

/**
 * What a hosted page did not answer itself (the pages render their own form errors) reaches the browser
 * as the error page, in its language and branding, instead of the API's JSON: a refusal with its
 * status, an unreachable database or Redis as 503 with Retry-After, anything else as a logged 500 that
 * names the request id. The page renders with the branding last read when the database is what failed.
 */
@Catch()
@Injectable()
export class PageExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly pages: WebPagesService,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const failure = this.failureOf(exception, req);
    for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value);
    const page = await this.pages.error(
      {
        acceptLanguage: req.get('accept-language') ?? '',
        cookie: req.get('cookie') ?? '',
        secure: req.secure,
      },
      { error: failure.error, error_description: failure.description },
    );
    this.pages.send(res, failure.status, page);
  }

  private failureOf(exception: unknown, req: Request): PageFailure {
    if (exception instanceof DomainError) {
      const detail = exception.body.detail;
      return {
        status: exception.status,
        error: exception.code,
        description: typeof detail === 'string' ? detail : '',
        headers: exception.headers,
      };
    }
    if (exception instanceof HttpException && exception.getStatus() < 500) {
      return {
        status: exception.getStatus(),
        error: 'invalid_request',
        description: exception.message,
        headers: {},
      };
    }
    const bodyError = asBodyParserError(exception);
    if (bodyError)
      return {
        status: bodyError.status,
        error: 'invalid_request',
        description: bodyError.detail,
        headers: {},
      };
    const failure = unexpectedFailure(exception, this.logger, req);
    const request = `(request ${failure.requestId ?? 'unknown'})`;
    return {
      status: failure.status,
      error: failure.outage ? 'temporarily_unavailable' : 'server_error',
      description: failure.outage ? `${OUTAGE_MESSAGE} ${request}` : `A server error occurred ${request}.`,
      headers: failure.headers,
    };
  }
}
