import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { type JobContext, JobHandler, type JobProcessor } from '../../jobs/job-registry';
import { SchedulesService } from '../../jobs/schedules.service';
import type { OidcStorage } from '../oidc-storage';
import { OIDC_STORAGE } from '../oidc.tokens';

/** The job that deletes expired provider artifacts (codes, sessions, grants, tokens), hourly at :37. */
export const PURGE_OIDC_JOB = 'oidc-purge-expired';
export const PURGE_OIDC_CRON = '37 * * * *';

/** Runs wherever jobs run; with Redis state the artifacts expire by themselves and a run deletes nothing. */
@Injectable()
@JobHandler(PURGE_OIDC_JOB)
export class PurgeOidcProcessor implements JobProcessor, OnApplicationBootstrap {
  constructor(
    @Inject(OIDC_STORAGE) private readonly storage: OidcStorage,
    private readonly schedules: SchedulesService,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.schedules.installDefault(PURGE_OIDC_JOB, PURGE_OIDC_CRON);
  }

  async run(_context: JobContext): Promise<unknown> {
    return { deleted: await this.storage.purgeExpired() };
  }
}
