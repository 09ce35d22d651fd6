import { BullModule, Processor } from '@nestjs/bullmq';
import { type DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { Logger } from 'pino';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import type { AppConfig } from '../../config/app-config';
import { BullJobProcessor, BullQueueDriver, JOBS_QUEUE, TaskReconciler } from './bullmq-queue.driver';
import { InlineQueueDriver } from './inline-queue.driver';
import { JobDeclarations, type JobDefinition, JobRegistry } from './job-registry';
import { JobRunner } from './job-runner';
import { QUEUE_DRIVER } from './queue-driver';
import { SchedulesService } from './schedules.service';
import { TasksController } from './tasks.controller';
import { TasksRepository } from './tasks.repository';
import { TasksService } from './tasks.service';

/** Which part a process plays: the API (enqueues; runs jobs itself only without Redis) or the worker. */
export type ProcessRole = 'api' | 'worker';

let declarationToken = 0;

/**
 * The queue abstraction. With REDIS_URL, BullMQ carries jobs and only the worker process consumes
 * them; without it the API runs them in-process. Either way one registry maps job names to handlers,
 * and the `tasks` table holds every task's state.
 */
@Global()
@Module({})
export class JobsModule {
  static forRoot(config: AppConfig, role: ProcessRole): DynamicModule {
    const redis = config.redisUrl;
    const runsJobs = !redis || role === 'worker';
    const common: Provider[] = [
      JobRegistry,
      JobRunner,
      TasksRepository,
      TasksService,
      {
        provide: SchedulesService,
        useClass: SchedulesService,
      },
    ];
    const enableSchedules: Provider = {
      provide: 'arbor:jobs-schedules-enabled',
      inject: [SchedulesService],
      useFactory: (schedules: SchedulesService) => {
        if (runsJobs) schedules.enable();
        return runsJobs;
      },
    };
    if (!redis) {
      return {
        module: JobsModule,
        imports: [DiscoveryModule],
        controllers: role === 'api' ? [TasksController] : [],
        providers: [
          ...common,
          enableSchedules,
          InlineQueueDriver,
          { provide: QUEUE_DRIVER, useExisting: InlineQueueDriver },
        ],
        exports: [TasksService, SchedulesService, JobRegistry],
      };
    }
    const leaseMs = config.jobs.leaseSeconds * 1000;
    // Worker options come from config, so the decorator is applied here rather than on the class.
    Processor(JOBS_QUEUE, {
      concurrency: config.jobs.concurrency,
      lockDuration: leaseMs,
      stalledInterval: leaseMs,
      maxStalledCount: 5,
    })(BullJobProcessor);
    return {
      module: JobsModule,
      imports: [
        DiscoveryModule,
        BullModule.forRoot({
          connection: { url: redis, maxRetriesPerRequest: null },
          prefix: 'arbor',
        }),
        BullModule.registerQueue({ name: JOBS_QUEUE }),
      ],
      controllers: role === 'api' ? [TasksController] : [],
      providers: [
        ...common,
        enableSchedules,
        BullQueueDriver,
        { provide: QUEUE_DRIVER, useExisting: BullQueueDriver },
        ...(role === 'worker'
          ? [
              TaskReconciler,
              {
                provide: BullJobProcessor,
                inject: [JobRunner, ROOT_LOGGER],
                useFactory: (runner: JobRunner, logger: Logger) => new BullJobProcessor(runner, logger),
              },
            ]
          : []),
      ],
      exports: [TasksService, SchedulesService, JobRegistry],
    };
  }

  /** Declares a feature's job kinds; each needs exactly one `@JobHandler(name)` provider. */
  static forFeature(definitions: JobDefinition[]): DynamicModule {
    const token = `arbor:job-declarations:${++declarationToken}`;
    return {
      module: JobsModule,
      providers: [{ provide: token, useValue: new JobDeclarations(definitions) }],
    };
  }
}
