import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { AppConfig } from '../../config/app-config';
import { AuditService } from './audit.service';

const FIRST_RUN_MS = 60_000;
const INTERVAL_MS = 3600_000;

/**
 * Purges expired entries hourly in this process (every replica may; the deletes are idempotent). The
 * timers are unref'd, so they never keep a CLI command alive. The jobs room can call
 * AuditService.purgeExpired instead once it exists.
 */
@Injectable()
export class AuditRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly audit: AuditService,
    private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.audit.retentionDays === 0) return;
    const run = (): void => {
      this.audit
        .purgeExpired()
        .catch((error: unknown) => this.logger.error({ err: error }, 'audit log purge failed'));
    };
    this.timer = setTimeout(() => {
      run();
      this.timer = setInterval(run, INTERVAL_MS).unref();
    }, FIRST_RUN_MS).unref();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
  }
}
