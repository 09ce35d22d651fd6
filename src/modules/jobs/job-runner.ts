import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import { type JobOutcome, Metrics } from '../../common/metrics/metrics.service';
import type { Logger } from 'pino';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { Clock } from '../../common/time/clock';
import { AppConfig } from '../../config/app-config';
import {
  backoffDelayMs,
  type JobContext,
  JobRegistry,
  NonRetryableJobError,
  type TaskRecordError,
} from './job-registry';
import { MAX_ERROR_MESSAGE, MAX_KEPT_ERRORS } from './tasks.service';
import { TasksRepository } from './tasks.repository';

/** What became of one delivery of a task, for the driver to act on. */
export type RunOutcome =
  | { kind: 'done' }
  | { kind: 'retry'; delayMs: number; error: Error }
  | { kind: 'failed'; error: Error }
  /** The lock is held elsewhere, or the process is stopping: deliver again later, no attempt used. */
  | { kind: 'later'; delayMs: number };

/** Thrown into a job's signal when the process stops; the task goes back to waiting, not failed. */
export class JobInterrupted extends Error {
  constructor() {
    super('the worker is stopping');
    this.name = 'JobInterrupted';
  }
}

/**
 * Runs one delivery of a task, whichever driver brought it: takes the job kind's lease (so two
 * workers never run the same kind at once, and a crashed worker's lease simply expires), records
 * progress, errors and the outcome on the task row, and decides between retry and dead letter.
 * Deliveries of a finished task (a redelivery after a crash, a reconciled duplicate) do nothing.
 */
@Injectable()
export class JobRunner {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly tasks: TasksRepository,
    private readonly registry: JobRegistry,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  private measure(job: string, outcome: JobOutcome, started: number): void {
    this.metrics.jobAttempt(job, outcome, (performance.now() - started) / 1000);
  }

  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Asks every running job to stop at its next safe point. */
  interruptAll(): void {
    for (const controller of this.running.values()) controller.abort(new JobInterrupted());
  }

  async run(taskId: string): Promise<RunOutcome> {
    const task = await this.tasks.findByTaskId(taskId);
    if (!task || !['PENDING', 'RETRY', 'STARTED'].includes(task.statusRaw)) return { kind: 'done' };
    const definition = this.registry.definition(task.jobName);
    const leaseMs = this.config.jobs.leaseSeconds * 1000;
    const now = this.clock.now();
    if (
      !(await this.tasks.acquireLease(definition.lockKey, this.owner, now, new Date(now.getTime() + leaseMs)))
    ) {
      return { kind: 'later', delayMs: Math.min(leaseMs, 5000) };
    }
    const controller = new AbortController();
    this.running.set(taskId, controller);
    const heartbeat = setInterval(
      () => {
        const at = this.clock.now();
        this.tasks
          .acquireLease(definition.lockKey, this.owner, at, new Date(at.getTime() + leaseMs))
          .then((held) => {
            if (!held) controller.abort(new Error('lost the job lease'));
          })
          .catch((error: unknown) =>
            this.logger.warn({ err: error, task_id: taskId }, 'Lease renewal failed'),
          );
      },
      Math.max(500, leaseMs / 3),
    );
    const attempt = task.attempts + 1;
    let started = performance.now();
    const errors = new ErrorList();
    let lastProgressWrite = 0;
    let pendingProgress: Promise<void> = Promise.resolve();
    const context: JobContext = {
      taskId,
      payload: JSON.parse(task.payload) as Record<string, unknown>,
      attempt,
      signal: controller.signal,
      progress: async (stage, done, total) => {
        const at = Date.now();
        // One write per stage change or per half second: progress must not cost the job its speed.
        if (stage === task.stage && at - lastProgressWrite < 500 && done < total) return;
        lastProgressWrite = at;
        task.stage = stage;
        await pendingProgress;
        pendingProgress = this.tasks.update(taskId, { stage, done, total, errors: errors.serialized() });
        await pendingProgress;
      },
      recordError: (error) => errors.add(error),
    };
    try {
      await this.tasks.update(taskId, {
        statusRaw: 'STARTED',
        attempts: attempt,
        startedAt: this.clock.now(),
        failure: null,
      });
      this.logger.info({ task_id: taskId, job: task.jobName, attempt }, 'Job started');
      started = performance.now();
      const result = await this.registry.handler(task.jobName).run(context);
      await pendingProgress;
      await this.tasks.update(taskId, {
        statusRaw: 'SUCCESS',
        activeKey: null,
        result: JSON.stringify(result ?? null),
        errors: errors.serialized(),
        finishedAt: this.clock.now(),
      });
      this.logger.info({ task_id: taskId, job: task.jobName, errors: errors.count }, 'Job succeeded');
      this.measure(task.jobName, 'success', started);
      return { kind: 'done' };
    } catch (caught) {
      await pendingProgress.catch(() => undefined);
      const error = caught instanceof Error ? caught : new Error(String(caught));
      if (error instanceof JobInterrupted || controller.signal.reason instanceof JobInterrupted) {
        // Stopping is not the job's fault: the attempt does not count.
        await this.tasks.update(taskId, { statusRaw: 'PENDING', attempts: task.attempts });
        this.logger.warn({ task_id: taskId, job: task.jobName }, 'Job interrupted; it will resume');
        this.measure(task.jobName, 'interrupted', started);
        return { kind: 'later', delayMs: 0 };
      }
      const final = error instanceof NonRetryableJobError || attempt >= task.maxAttempts;
      if (final) {
        await this.tasks.update(taskId, {
          statusRaw: 'FAILURE',
          activeKey: null,
          deadLetter: true,
          failure: error.message.slice(0, 4000),
          errors: errors.serialized(),
          finishedAt: this.clock.now(),
        });
        this.logger.error({ err: error, task_id: taskId, job: task.jobName, attempt }, 'Job failed for good');
        this.measure(task.jobName, 'failed', started);
        return { kind: 'failed', error };
      }
      this.measure(task.jobName, 'retry', started);
      const delayMs = backoffDelayMs(definition, attempt);
      await this.tasks.update(taskId, {
        statusRaw: 'RETRY',
        failure: error.message.slice(0, 4000),
        errors: errors.serialized(),
        runAfter: new Date(this.clock.now().getTime() + delayMs),
      });
      this.logger.warn(
        { err: error, task_id: taskId, job: task.jobName, attempt, delay_ms: delayMs },
        'Job will retry',
      );
      return { kind: 'retry', delayMs, error };
    } finally {
      clearInterval(heartbeat);
      this.running.delete(taskId);
      await this.tasks.releaseLease(definition.lockKey, this.owner).catch(() => undefined);
    }
  }
}

/** Per-record errors of one attempt, capped, serialised with the total count. */
class ErrorList {
  private readonly items: TaskRecordError[] = [];
  count = 0;

  add(error: TaskRecordError): void {
    this.count += 1;
    if (this.items.length < MAX_KEPT_ERRORS) {
      this.items.push({
        record: error.record.slice(0, 128),
        code: error.code.slice(0, 64),
        message: error.message.slice(0, MAX_ERROR_MESSAGE),
      });
    }
  }

  serialized(): string | null {
    return this.count === 0 ? null : JSON.stringify({ count: this.count, items: this.items });
  }
}
