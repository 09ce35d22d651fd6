import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { Clock } from '../../common/time/clock';
import { nextCronRun } from '../../common/time/cron';
import { AppConfig } from '../../config/app-config';
import { TasksRepository } from './tasks.repository';
import { TasksService } from './tasks.service';

export const SCHEDULE_TICK_MS = 5000;

/**
 * Repeatable jobs: one schedule row per job kind (cron or off), kept in the database so schedules
 * survive restarts and a flushed Redis. The process that runs jobs (the worker, or the API without
 * Redis) looks every few seconds for due schedules; claiming a firing is a compare-and-set on
 * next_run_at, so several workers fire it once, and the job's dedupe key makes a firing that finds the
 * previous run still going join it instead of starting a second one.
 */
@Injectable()
export class SchedulesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private runsSchedules = false;

  constructor(
    private readonly tasks: TasksRepository,
    private readonly jobs: TasksService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  /** Called by JobsModule in the process that runs jobs. */
  enable(): void {
    this.runsSchedules = true;
  }

  onApplicationBootstrap(): void {
    if (!this.runsSchedules) return;
    this.timer = setInterval(() => this.tick(), SCHEDULE_TICK_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
  }

  async get(name: string): Promise<{ cron: string | null; next_run_at: string | null }> {
    const row = await this.tasks.schedule(name);
    return { cron: row?.cron ?? null, next_run_at: row?.nextRunAt?.toISOString() ?? null };
  }

  /**
   * Installs a built-in job's schedule on first start (an existing schedule is left alone). Failure
   * is logged, not thrown: a replica starting at the same moment won the insert, or the schema is not
   * migrated yet (the API refuses to serve then anyway); the next start tries again.
   */
  async installDefault(name: string, cron: string): Promise<void> {
    try {
      if ((await this.get(name)).cron === null) await this.set(name, cron);
    } catch (error) {
      this.logger.warn({ err: error, job: name }, 'could not install the default schedule');
    }
  }

  /** Sets (or with null, turns off) the schedule of a job kind. The caller validated `cron`. */
  async set(name: string, cron: string | null): Promise<void> {
    const next = cron ? nextCronRun(cron, this.clock.now(), this.config.timeZone) : null;
    await this.tasks.saveSchedule(name, cron, next);
  }

  private tick(): void {
    if (this.ticking) return;
    this.ticking = this.fireDue()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'Schedule tick failed'))
      .finally(() => {
        this.ticking = null;
      });
  }

  async fireDue(): Promise<void> {
    const now = this.clock.now();
    for (const schedule of await this.tasks.dueSchedules(now)) {
      if (!schedule.cron || !schedule.nextRunAt) continue;
      const next = nextCronRun(schedule.cron, now, this.config.timeZone);
      if (!(await this.tasks.claimSchedule(schedule.name, schedule.nextRunAt, next))) continue;
      const { task, created } = await this.jobs.enqueue(schedule.name, { scheduled: true }, 'apply');
      this.logger.info({ job: schedule.name, task_id: task.taskId, created }, 'Scheduled job fired');
    }
  }
}
