import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Header, HttpStatus, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/auth.decorators';
import { CommonErrors } from '../../common/errors/domain-error';
import { Metrics } from '../../common/metrics/metrics.service';
import { AppConfig } from '../../config/app-config';
import { type Readiness, ReadinessService } from './readiness.service';

@ApiExcludeController()
@Controller()
export class OpsController {
  constructor(
    private readonly readiness: ReadinessService,
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {}

  /** Liveness: answers as long as the process serves HTTP. */
  @Public()
  @Get('ping')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  ping(): string {
    return 'pong';
  }

  /** Readiness: 200 when the database (and Redis, when configured) answer, else 503 naming what failed. */
  @Public()
  @Get('ready')
  @Header('Cache-Control', 'no-store')
  async ready(@Res({ passthrough: true }) res: Response): Promise<Readiness> {
    const readiness = await this.readiness.check();
    res.status(readiness.ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return readiness;
  }

  /** Prometheus metrics: 404 unless METRICS_ENABLED; with METRICS_TOKEN, a bearer token is required. */
  @Public()
  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async scrape(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<string> {
    const { enabled, token } = this.config.metrics;
    if (!enabled) throw CommonErrors.notFound();
    if (token !== undefined && !bearerMatches(req.header('authorization'), token)) {
      res.status(HttpStatus.UNAUTHORIZED).setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      res.type('text/plain');
      return 'Unauthorized\n';
    }
    res.type(this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}

/** Constant-time comparison of the presented bearer token with the configured one. */
function bearerMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(match[1]), digest(expected));
}
