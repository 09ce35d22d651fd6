import { InjectQueue, WorkerHost } from '@nestjs/bullmq';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DelayedError, type Job, type Queue, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { logBullMqErrors } from '../../common/redis/outage-log';
import { Clock } from '../../common/time/clock';
import type { TaskEntity } from './entities/task.entity';
import { JobRegistry } from './job-registry';
import { JobRunner } from './job-runner';
import type { QueueDriver } from './queue-driver';
import { TasksRepository } from './tasks.repository';

export const JOBS_QUEUE = 'arbor-jobs';

interface JobData {
  taskId: string;
}

function jobOptions(taskId: string, delayMs: number) {
  return {
    // The task id is the job id: BullMQ ignores an add for a job id it already holds.
    jobId: taskId,
    delay: Math.max(0, delayMs),
    attempts: 1,
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    // Failed jobs stay a week in BullMQ's failed set: the dead-letter queue, beside the task row.
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** The producer side: what the API (and the worker, for schedules) uses to hand tasks to BullMQ. */
@Injectable()
export class BullQueueDriver implements QueueDriver {
  readonly kind = 'bullmq' as const;

  constructor(
    @InjectQueue(JOBS_QUEUE) private readonly queue: Queue<JobData>,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    logBullMqErrors(queue, logger, 'job queue');
  }

  async dispatch(task: TaskEntity, delayMs: number): Promise<void> {
    await this.queue.add(task.jobName, { taskId: task.taskId }, jobOptions(task.taskId, delayMs));
  }
}

/**
 * The consumer side, only in the worker process. Retries and lock waits re-delay the same BullMQ job
 * (exponential backoff decided by the runner from the task row, which survives Redis); a task that
 * fails for good lands in BullMQ's failed set.
 */
export class BullJobProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly runner: JobRunner,
    private readonly logger: Logger,
  ) {
    super();
  }

  /** The worker exists once @nestjs/bullmq has explored the processors, before bootstrap. */
  onApplicationBootstrap(): void {
    logBullMqErrors(this.worker, this.logger, 'job worker');
  }

  async process(job: Job<JobData>, token?: string): Promise<void> {
    const outcome = await this.runner.run(job.data.taskId);
    switch (outcome.kind) {
      case 'done':
        return;
      case 'failed':
        throw new UnrecoverableError(outcome.error.message);
      case 'retry':
      case 'later':
        await job.moveToDelayed(Date.now() + Math.max(outcome.delayMs, 500), token);
        throw new DelayedError();
    }
  }
}

/**
 * The worker's safety net: the `tasks` table, not Redis, says what must still run. Every few seconds
 * (and at start) an unfinished task whose BullMQ job is missing (Redis restarted empty, or the job was
 * dropped after stalling) is queued again, unless a live lease shows it is running right now.
 */
@Injectable()
export class TaskReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    @InjectQueue(JOBS_QUEUE) private readonly queue: Queue<JobData>,
    private readonly tasks: TasksRepository,
    private readonly registry: JobRegistry,
    private readonly clock: Clock,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), 5000);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.reconcile()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'Task reconciliation failed; will retry'))
      .finally(() => {
        this.running = null;
      });
  }

  async reconcile(): Promise<void> {
    for (const task of await this.tasks.unfinished()) {
      const job = await this.queue.getJob(task.taskId);
      const state = job ? await job.getState() : 'missing';
      if (!['missing', 'completed', 'failed', 'unknown'].includes(state)) continue;
      const lockKey = this.registry.definition(task.jobName).lockKey;
      if (task.statusRaw === 'STARTED' && (await this.tasks.leaseIsLive(lockKey, this.clock.now()))) continue;
      if (job) await job.remove().catch(() => undefined);
      const delayMs = Math.max(0, (task.runAfter?.getTime() ?? 0) - this.clock.now().getTime());
      await this.queue.add(task.jobName, { taskId: task.taskId }, jobOptions(task.taskId, delayMs));
      this.logger.info(
        { task_id: task.taskId, job: task.jobName, was: state },
        'Re-queued an unfinished task',
      );
    }
  }
}
