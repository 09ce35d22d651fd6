import { Injectable } from '@nestjs/common';
import {
  type JobContext,
  JobHandler,
  type JobProcessor,
  NonRetryableJobError,
} from '../../jobs/job-registry';
import { PermsService, RECOMPUTE_USER_PERMS_JOB } from '../perms.service';

/** Runs the task `PUT user/{u}/perm/` queues; its result is what the user holds afterwards. */
@Injectable()
@JobHandler(RECOMPUTE_USER_PERMS_JOB)
export class RecomputeUserPermsProcessor implements JobProcessor {
  constructor(private readonly perms: PermsService) {}

  async run({ payload }: JobContext): Promise<unknown> {
    const userId = payload.user_id;
    if (typeof userId !== 'number' || !Number.isInteger(userId)) {
      throw new NonRetryableJobError('the task names no user', 'bad_payload');
    }
    const result = await this.perms.recomputeUser(userId);
    if (!result) throw new NonRetryableJobError('the user no longer exists', 'user_not_found');
    return result;
  }
}
