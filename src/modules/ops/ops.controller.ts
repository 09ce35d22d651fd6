import { Controller, Get, Header, HttpStatus, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/auth.decorators';
import { CommonErrors } from '../../common/errors/domain-error';
import { metricsAccess } from '../../common/metrics/metrics-access';
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
    const access = metricsAccess(this.config.metrics, req.header('authorization'));
    if (access === 'disabled') throw CommonErrors.notFound();
    if (access === 'unauthorized') {
      res.status(HttpStatus.UNAUTHORIZED).setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      res.type('text/plain');
      return 'Unauthorized\n';
    }
    res.type(this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
