import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { assertSchemaCurrent, configureApp } from './app.setup';
import { createRootLogger, PinoNestLogger } from './common/logging/logger';
import { AppConfig } from './config/app-config';
import { ConfigValidationError } from './config/config.schema';

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    config = AppConfig.fromEnvironment();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const logger = createRootLogger(config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
  });
  configureApp(app, config, logger);
  await assertSchemaCurrent(app);
  await app.listen(config.port, config.host);
  logger.info(
    { port: config.port, database: config.database.kind, base_url: config.baseUrl },
    'Arbor is listening',
  );
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`Arbor failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
