import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import { type Application, json, urlencoded, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import proxyAddr from 'proxy-addr';
import { DataSource } from 'typeorm';
import { asBodyParserError } from './common/filters/siteapi-exception.filter';
import { requestLogging, trackRequest } from './common/logging/request-logging.middleware';
import { countRequest, httpMetrics } from './common/metrics/http-metrics.middleware';
import { Metrics } from './common/metrics/metrics.service';
import { createValidationPipe } from './common/pipes/validation.pipe';
import { OidcProviderService } from './modules/oidc/oidc-provider.service';
import type { AppConfig } from './config/app-config';

const BODY_LIMIT = '1mb';

/** Everything between "Nest created the app" and "listen": shared by main.ts and the e2e tests. */
export function configureApp(app: NestExpressApplication, config: AppConfig, logger: Logger): void {
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  serveProviderAhead(app, config, logger);
  if (config.metrics.enabled) app.use(httpMetrics(app.get(Metrics)));
  app.use(requestLogging(logger));
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

/**
 * The OAuth/OIDC provider's requests (token, introspection and the rest, on every app's hot path) are
 * answered from the HTTP server's request event, ahead of Express: the provider parses and routes them
 * itself, so Express's routing, Nest's adapter and the body parsers were only overhead there (a good
 * part of a token request's CPU). They get the same request id and context, log line and metrics;
 * the client address follows the same TRUST_PROXY rule as Express's `req.ip`.
 */
function serveProviderAhead(app: NestExpressApplication, config: AppConfig, logger: Logger): void {
  const server = app.getHttpServer();
  const express = app.getHttpAdapter().getInstance() as Application;
  const provider = app.get(OidcProviderService);
  const metrics = config.metrics.enabled ? app.get(Metrics) : undefined;
  const others = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (!provider.owns(url)) {
      for (const listener of others) listener.call(server, req, res);
      return;
    }
    const method = req.method ?? 'GET';
    if (metrics) countRequest(metrics, method, res, () => provider.routeTemplate(url));
    const facts = {
      ip: proxyAddr(req, express.get('trust proxy fn') as (address: string, hop: number) => boolean),
      userAgent: req.headers['user-agent'] ?? '',
      method,
      path: url.split('?')[0],
      body: (): unknown => undefined,
    };
    trackRequest(logger, req, res, facts, () => provider.serve(req, res));
  });
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
