import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { type JobContext, JobHandler, type JobProcessor } from '../../jobs/job-registry';
import { SchedulesService } from '../../jobs/schedules.service';
import { AuditService } from '../audit.service';

/** The job that applies AUDIT_RETENTION_DAYS, and its default schedule (hourly, at :27). */
export const PURGE_AUDIT_JOB = 'audit-purge-expired';
export const PURGE_AUDIT_CRON = '27 * * * *';

/**
 * Deletes entries past the retention period wherever jobs run (the worker, or the API without Redis);
 * with retention 0 (keep forever) a run deletes nothing. `npm run cli -- purge-audit-log` runs it once.
 */
@Injectable()
@JobHandler(PURGE_AUDIT_JOB)
export class PurgeAuditProcessor implements JobProcessor, OnApplicationBootstrap {
  constructor(
    private readonly audit: AuditService,
    private readonly schedules: SchedulesService,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.schedules.installDefault(PURGE_AUDIT_JOB, PURGE_AUDIT_CRON);
  }

  async run(_context: JobContext): Promise<unknown> {
    return { deleted: await this.audit.purgeExpired() };
  }
}
