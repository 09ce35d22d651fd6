import { Injectable } from '@nestjs/common';
import { type JobContext, JobHandler, type JobProcessor } from '../jobs/job-registry';
import { PULL_JOB, PUSH_JOB } from './ding-config.service';
import { DingSyncService, toJobError } from './ding-sync.service';

@Injectable()
@JobHandler(PULL_JOB)
export class DingPullProcessor implements JobProcessor {
  constructor(private readonly sync: DingSyncService) {}

  async run(context: JobContext): Promise<unknown> {
    try {
      return await this.sync.runPull(context);
    } catch (error) {
      throw toJobError(error);
    }
  }
}

@Injectable()
@JobHandler(PUSH_JOB)
export class DingPushProcessor implements JobProcessor {
  constructor(private readonly sync: DingSyncService) {}

  async run(context: JobContext): Promise<unknown> {
    try {
      return await this.sync.runPush(context);
    } catch (error) {
      throw toJobError(error);
    }
  }
}
