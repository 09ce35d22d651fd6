import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { AppConfig } from '../../config/app-config';
import type { TaskEntity } from './entities/task.entity';
import { JobRunner } from './job-runner';
import type { QueueDriver } from './queue-driver';
import { TasksRepository } from './tasks.repository';

/**
 * Runs jobs inside the API process when REDIS_URL is unset, one at a time, with the same runner (and so
 * the same retries, leases and task rows) as the BullMQ worker. Unfinished tasks of a previous run of
 * the process are picked up again at start.
 */
@Injectable()
export class InlineQueueDriver implements QueueDriver, OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly kind = 'inline' as const;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly ready: string[] = [];
  private pumping: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly runner: JobRunner,
    private readonly tasks: TasksRepository,
    private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const task of await this.tasks.unfinished()) {
      this.schedule(task.taskId, Math.max(0, (task.runAfter?.getTime() ?? 0) - Date.now()));
    }
  }

  dispatch(task: TaskEntity, delayMs: number): Promise<void> {
    this.schedule(task.taskId, delayMs);
    return Promise.resolve();
  }

  /** Stops taking tasks, asks the running one to stop at its next safe point, and waits (bounded). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (!this.pumping) return;
    const bound = new Promise<void>((resolve) =>
      setTimeout(resolve, this.config.shutdownTimeoutMs / 2).unref(),
    );
    await Promise.race([this.pumping, bound]);
    if (this.runner.busy) {
      this.runner.interruptAll();
      await Promise.race([this.pumping, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  }

  private schedule(taskId: string, delayMs: number): void {
    if (this.stopped || this.timers.has(taskId) || this.ready.includes(taskId)) return;
    const timer = setTimeout(() => {
      this.timers.delete(taskId);
      this.ready.push(taskId);
      this.pump();
    }, delayMs);
    this.timers.set(taskId, timer);
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = (async () => {
      while (this.ready.length > 0 && !this.stopped) {
        const taskId = this.ready.shift() as string;
        try {
          const outcome = await this.runner.run(taskId);
          if (outcome.kind === 'retry') this.schedule(taskId, outcome.delayMs);
          else if (outcome.kind === 'later') this.schedule(taskId, Math.max(outcome.delayMs, 1000));
        } catch (error) {
          // The task row could not be read or written (database down): try again shortly.
          this.logger.error({ err: error, task_id: taskId }, 'Running a job failed; retrying in 5 s');
          this.schedule(taskId, 5000);
        }
      }
    })().finally(() => {
      this.pumping = null;
      if (this.ready.length > 0 && !this.stopped) this.pump();
    });
  }
}
