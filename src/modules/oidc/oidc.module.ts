import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { PURGE_OIDC_JOB, PurgeOidcProcessor } from './jobs/purge-expired.processor';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { logRedisOutages } from '../../common/redis/outage-log';
import { AppConfig } from '../../config/app-config';
import { AccountsModule } from '../accounts/accounts.module';
import { AuthModule } from '../auth/auth.module';
import { PermissionsModule } from '../permissions/permissions.module';
import { StorageModule } from '../storage/storage.module';
import { OidcAccountsService } from './oidc-accounts.service';
import { OidcInteractionsService } from './oidc-interactions.service';
import { OidcPagesLink } from './oidc-pages.link';
import { OidcProviderService } from './oidc-provider.service';
import { DatabaseOidcStorage, type OidcStorage, RedisOidcStorage } from './oidc-storage';
import { OidcTokensService } from './oidc-tokens.service';
import { OIDC_STORAGE } from './oidc.tokens';
import { TrackedHashReads } from './redis-tracked-reads';
import { SigningKeysService } from './signing-keys.service';
import { UserinfoController } from './userinfo.controller';

@Module({
  imports: [
    StorageModule,
    AccountsModule,
    AuthModule,
    PermissionsModule,
    JobsModule.forFeature([
      { name: PURGE_OIDC_JOB, attempts: 3, backoffMs: 60_000, lockKey: PURGE_OIDC_JOB },
    ]),
  ],
  controllers: [UserinfoController],
  providers: [
    SigningKeysService,
    OidcAccountsService,
    OidcPagesLink,
    OidcProviderService,
    OidcTokensService,
    OidcInteractionsService,
    DatabaseOidcStorage,
    PurgeOidcProcessor,
    {
      provide: OIDC_STORAGE,
      inject: [AppConfig, DatabaseOidcStorage, ROOT_LOGGER],
      useFactory: (config: AppConfig, database: DatabaseOidcStorage, logger: Logger): OidcStorage => {
        if (!config.redisUrl) return database;
        // Commands issued in one event-loop turn (concurrent requests' lookups and saves) go out as one
        // pipeline: fewer writes and wake-ups on both ends under load.
        const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
        logRedisOutages(redis, logger, 'OAuth provider state');
        const reads = TrackedHashReads.beside(redis, (error) =>
          logger.warn({ err: error }, 'Redis client-side caching of token lookups is off'),
        );
        return new RedisOidcStorage(redis, config.oidc.refreshTokenTtlSeconds, undefined, reads);
      },
    },
  ],
  exports: [OidcProviderService, OidcInteractionsService, OidcPagesLink, SigningKeysService],
})
export class OidcModule {}
