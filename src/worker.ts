import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { DataSource } from 'typeorm';
import { createRootLogger, PinoNestLogger } from './common/logging/logger';
import { metricsAccess } from './common/metrics/metrics-access';
import { Metrics } from './common/metrics/metrics.service';
import type { AppConfig } from './config/app-config';
import { loadConfigOrExit } from './config/load-config';
import { JobRunner } from './modules/jobs/job-runner';

/**
 * The background worker: the same AppModule in the worker role, consuming the BullMQ queue on
 * REDIS_URL (sync jobs, schedules, and re-queueing what a crash or a Redis restart dropped). Its only
 * HTTP is /metrics on WORKER_METRICS_PORT when METRICS_ENABLED. Without Redis there is nothing to consume: the API runs jobs itself then.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createRootLogger(config.logLevel);
  if (!config.redisUrl) {
    logger.error('The worker needs REDIS_URL; without Redis the API runs jobs in its own process');
    process.exit(78);
  }
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, logger, 'worker'), {
    logger: new PinoNestLogger(logger),
  });
  if (await app.get(DataSource).showMigrations()) {
    logger.error(
      'The database has pending migrations. Run `npm run db:migrate` (with the same DATABASE_URL) first.',
    );
    await app.close();
    process.exit(1);
  }
  const metricsServer = config.metrics.enabled ? await serveMetrics(app, config) : null;
  stopOnSignals(app, logger, config.shutdownTimeoutMs, metricsServer);
  logger.info(
    { database: config.database.kind, concurrency: config.jobs.concurrency },
    'Arbor worker is running',
  );
}

/**
 * The worker's /metrics (job runs and durations, process metrics) on WORKER_METRICS_PORT, with the same
 * access rule as the API's: the job metrics are counted in the process that runs the jobs.
 */
async function serveMetrics(app: INestApplicationContext, config: AppConfig): Promise<Server> {
  const metrics = app.get(Metrics);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    const access = metricsAccess(config.metrics, req.headers.authorization);
    if (access !== 'allowed') {
      res
        .writeHead(access === 'disabled' ? 404 : 401, {
          'content-type': 'text/plain',
          ...(access === 'unauthorized' ? { 'www-authenticate': 'Bearer realm="metrics"' } : {}),
        })
        .end(access === 'disabled' ? 'Not found\n' : 'Unauthorized\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) =>
        res
          .writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' })
          .end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve) => server.listen(config.metrics.workerPort, config.host, resolve));
  return server;
}

/**
 * SIGTERM (or SIGINT): stop taking jobs and let the running one finish; BullMQ's worker close waits
 * for it. If it has not finished within SHUTDOWN_TIMEOUT_SECONDS the job is interrupted at its next
 * safe point (it goes back to waiting, its attempt not counted) and the process exits 1.
 */
function stopOnSignals(
  app: INestApplicationContext,
  logger: Logger,
  timeoutMs: number,
  metricsServer: Server | null,
): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    metricsServer?.close();
    logger.info({ signal, timeout_ms: timeoutMs }, 'Worker stopping: finishing the current job');
    // Past half the bound, ask the running job to stop at its next safe point so it can be resumed.
    setTimeout(() => app.get(JobRunner).interruptAll(), timeoutMs / 2).unref();
    setTimeout(() => {
      logger.error({ timeout_ms: timeoutMs }, 'The current job did not finish in time: exiting');
      process.exit(1);
    }, timeoutMs).unref();
    app.close().then(
      () => {
        logger.info('Arbor worker stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'Worker shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `Arbor worker failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
