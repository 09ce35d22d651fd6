import { Injectable } from '@nestjs/common';
import { type JobContext, JobHandler, type JobProcessor } from '../../jobs/job-registry';
import { LifecyclePurgeService, PURGE_EXPIRED_JOB } from '../lifecycle-purge.service';

@Injectable()
@JobHandler(PURGE_EXPIRED_JOB)
export class PurgeExpiredProcessor implements JobProcessor {
  constructor(private readonly purge: LifecyclePurgeService) {}

  run(context: JobContext): Promise<unknown> {
    return this.purge.purgeExpired(context.signal);
  }
}
