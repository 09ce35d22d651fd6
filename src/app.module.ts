import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { CommonModule } from './common/common.module';
import { SiteApiExceptionFilter } from './common/filters/siteapi-exception.filter';
import { LoggingModule } from './common/logging/logging.module';
import { MetricsModule } from './common/metrics/metrics.module';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { dataSourceOptions } from './database/data-source';
import { AccountsModule } from './modules/accounts/accounts.module';
import { AdminScopeModule } from './modules/admin-scope/admin-scope.module';
import { AuditModule } from './modules/audit/audit.module';
import { AuthModule } from './modules/auth/auth.module';
import { OrgModule } from './modules/org/org.module';
import { PermissionsModule } from './modules/permissions/permissions.module';
import { MigrationModule } from './modules/migration/migration.module';
import { OpsModule } from './modules/ops/ops.module';
import { SettingsModule } from './modules/settings/settings.module';
import { NotificationsModule } from './modules/notifications/notifications.module';
import { StorageModule } from './modules/storage/storage.module';
import { LifecycleModule } from './modules/lifecycle/lifecycle.module';
import { OidcModule } from './modules/oidc/oidc.module';
import { WebModule } from './modules/web/web.module';
import { JobsModule, type ProcessRole } from './modules/jobs/jobs.module';
import { SyncModule } from './modules/sync/sync.module';

@Module({})
export class AppModule {
  /** `role`: the HTTP API, or the background worker (`src/worker.ts`), which consumes the job queue. */
  static forRoot(config: AppConfig, logger: Logger, role: ProcessRole = 'api'): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        // The embedded SQLite database migrates itself; shared MySQL databases are migrated once, by
        // `npm run db:migrate`, before replicas start (see assertSchemaCurrent).
        TypeOrmModule.forRoot({
          ...dataSourceOptions(config),
          migrationsRun: config.database.kind === 'sqlite',
        }),
        CommonModule,
        // First, so Express meets the hosted pages' few routes before the REST API's hundreds: every
        // page request of a sign-in otherwise walks the whole API table (~0.25 ms each).
        WebModule,
        AuditModule,
        MetricsModule,
        AccountsModule,
        AuthModule,
        OrgModule,
        PermissionsModule,
        AdminScopeModule,
        MigrationModule,
        OpsModule,
        SettingsModule,
        NotificationsModule,
        StorageModule,
        LifecycleModule,
        JobsModule.forRoot(config, role),
        SyncModule,
        OidcModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: SiteApiExceptionFilter }],
    };
  }
}
