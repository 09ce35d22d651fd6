import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import { json, urlencoded, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { asBodyParserError } from './common/filters/siteapi-exception.filter';
import { requestLogging } from './common/logging/request-logging.middleware';
import { httpMetrics } from './common/metrics/http-metrics.middleware';
import { Metrics } from './common/metrics/metrics.service';
import { createValidationPipe } from './common/pipes/validation.pipe';
import { OidcProviderService } from './modules/oidc/oidc-provider.service';
import type { AppConfig } from './config/app-config';

const BODY_LIMIT = '1mb';

/** Everything between "Nest created the app" and "listen": shared by main.ts and the e2e tests. */
export function configureApp(app: NestExpressApplication, config: AppConfig, logger: Logger): void {
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  if (config.metrics.enabled) app.use(httpMetrics(app.get(Metrics)));
  app.use(requestLogging(logger));
  // The OAuth/OIDC provider parses its own requests, so it is mounted before the body parsers.
  app.use('/oauth', app.get(OidcProviderService).handler);
  // JSON and form bodies, as ArkID accepts both; parse errors are answered here as DRF would.
  app.use(json({ limit: BODY_LIMIT }));
  app.use(urlencoded({ extended: true, limit: BODY_LIMIT, parameterLimit: 1000 }));
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const parsed = asBodyParserError(error);
    if (!parsed) {
      next(error);
      return;
    }
    res.status(parsed.status).json({ detail: parsed.detail });
  });
  app.use(cookieParser());
  app.useGlobalPipes(createValidationPipe());
  if (config.swaggerEnabled) mountApiDocs(app);
}

function mountApiDocs(app: INestApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Arbor REST API')
      .setDescription(
        'ArkID v1 compatible. Every path is also served under /siteapi/oneid/. Authenticate with `Authorization: Token <key>`.',
      )
      .setVersion('1')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'Authorization', description: 'Token <key>' }, 'Token')
      .build(),
  );
  // The /siteapi/oneid/ mount repeats every path; document one.
  // Paths are written with ArkID's trailing slash, as clients must call them.
  document.paths = Object.fromEntries(
    Object.entries(document.paths)
      .filter(([path]) => !path.startsWith('/siteapi/oneid/'))
      .map(([path, item]) => [path.endsWith('/') ? path : `${path}/`, item]),
  );
  SwaggerModule.setup('siteapi/v1/docs', app, document, { jsonDocumentUrl: 'siteapi/v1/docs/openapi.json' });
}

/** A shared MySQL database must have been migrated before the API starts; say how, instead of failing later. */
export async function assertSchemaCurrent(app: INestApplication): Promise<void> {
  const dataSource = app.get(DataSource);
  if (await dataSource.showMigrations()) {
    throw new Error(
      'The database has pending migrations. Run `npm run db:migrate` (with the same DATABASE_URL) first.',
    );
  }
}
