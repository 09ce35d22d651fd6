import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { assertSchemaCurrent, configureApp } from './app.setup';
import { createRootLogger, PinoNestLogger } from './common/logging/logger';
import { loadConfigOrExit } from './config/load-config';
import { PermissionResolver } from './modules/permissions/permission-resolver.service';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createRootLogger(config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
  });
  configureApp(app, config, logger);
  await assertSchemaCurrent(app);
  await app.listen(config.port, config.host);
  stopOnSignals(app, logger, config.shutdownTimeoutMs);
  // Load the permission snapshot now rather than on the first request (about a second on a large org).
  app
    .get(PermissionResolver)
    .current()
    .catch((error: unknown) => logger.error({ err: error }, 'Could not preload the permission snapshot'));
  logger.info(
    { port: config.port, database: config.database.kind, base_url: config.baseUrl },
    'Arbor is listening',
  );
  // Arbor serves plain HTTP: behind an https BASE_URL only a trusted proxy's X-Forwarded-Proto tells it
  // a request came over TLS. Without it cookies lose Secure, and browsers refuse the provider's
  // __Host- session cookie, so no OAuth sign-in completes.
  if (config.baseUrl.startsWith('https://') && config.trustProxy === false) {
    logger.warn(
      { base_url: config.baseUrl },
      'BASE_URL is https but TRUST_PROXY is false: set TRUST_PROXY to the TLS proxy in front of Arbor',
    );
  }
}

/**
 * SIGTERM (or SIGINT): stop accepting connections, let in-flight requests finish, then run the shutdown
 * hooks (database pool, Redis connections). Readiness turns 503 as soon as this starts. The process then
 * ends by itself, with code 0, once nothing is left open; if that has not happened within
 * SHUTDOWN_TIMEOUT_SECONDS (a request still running, a connection left open), the remaining connections
 * are cut and the process exits 1.
 */
function stopOnSignals(app: NestExpressApplication, logger: Logger, timeoutMs: number): void {
  const server = app.getHttpServer();
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, timeout_ms: timeoutMs }, 'Stopping: finishing in-flight requests');
    // server.close() waits for every connection; a keep-alive connection whose request has finished
    // would otherwise hold it until the client's keep-alive ends.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    // Unref'd: it does not keep the process alive, but fires if anything else still does.
    setTimeout(() => {
      logger.error({ timeout_ms: timeoutMs }, 'Shutdown did not finish in time: closing what is left');
      server.closeAllConnections();
      process.exit(1);
    }, timeoutMs).unref();
    app.close().then(
      () => {
        clearInterval(sweep);
        logger.info('Arbor stopped: requests finished, connections closed');
      },
      (error: unknown) => {
        logger.error({ err: error }, 'Shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`Arbor failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
