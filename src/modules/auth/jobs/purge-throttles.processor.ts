import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { type JobContext, JobHandler, type JobProcessor } from '../../jobs/job-registry';
import { SchedulesService } from '../../jobs/schedules.service';
import { LoginThrottleService, PURGE_THROTTLES_CRON, PURGE_THROTTLES_JOB } from '../login-throttle.service';

/** Runs the idle-throttle purge wherever jobs run, on its default hourly schedule. */
@Injectable()
@JobHandler(PURGE_THROTTLES_JOB)
export class PurgeThrottlesProcessor implements JobProcessor, OnApplicationBootstrap {
  constructor(
    private readonly throttle: LoginThrottleService,
    private readonly schedules: SchedulesService,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.schedules.installDefault(PURGE_THROTTLES_JOB, PURGE_THROTTLES_CRON);
  }

  async run(context: JobContext): Promise<unknown> {
    return { deleted: await this.throttle.purgeIdle(context.signal) };
  }
}
