import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import type { Logger } from 'pino';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { AppConfig } from '../../config/app-config';
import { AccountsModule } from '../accounts/accounts.module';
import { AuditModule } from '../audit/audit.module';
import { JobsModule } from '../jobs/jobs.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { BearerKeysLink } from './bearer-keys.link';
import { JwtBearerStrategy } from './jwt-bearer.strategy';
import { LoginExtensions } from './login-extensions';
import { LoginThrottleRepository } from './login-throttle.repository';
import { LoginThrottleService, PURGE_THROTTLES_JOB } from './login-throttle.service';
import { PurgeThrottlesProcessor } from './jobs/purge-throttles.processor';
import { PrincipalGuard } from './principal.guard';
import {
  MemoryRateLimiter,
  RATE_LIMITER,
  type RateLimiter,
  RedisRateLimiter,
} from './rate-limit/ip-rate-limiter';
import { TokenStrategy } from './token.strategy';
import { TokensRepository } from './tokens.repository';
import { TokensService } from './tokens.service';

@Module({
  imports: [
    AccountsModule,
    AuditModule,
    PassportModule,
    JobsModule.forFeature([
      { name: PURGE_THROTTLES_JOB, attempts: 3, backoffMs: 60_000, lockKey: PURGE_THROTTLES_JOB },
    ]),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    TokensService,
    TokensRepository,
    LoginThrottleService,
    LoginExtensions,
    LoginThrottleRepository,
    PurgeThrottlesProcessor,
    TokenStrategy,
    JwtBearerStrategy,
    BearerKeysLink,
    { provide: APP_GUARD, useClass: PrincipalGuard },
    {
      provide: RATE_LIMITER,
      inject: [AppConfig, ROOT_LOGGER],
      useFactory: (config: AppConfig, logger: Logger): RateLimiter =>
        config.redisUrl ? new RedisRateLimiter(config.redisUrl, logger) : new MemoryRateLimiter(),
    },
  ],
  exports: [AuthService, TokensService, BearerKeysLink, LoginExtensions, RATE_LIMITER],
})
export class AuthModule implements OnApplicationShutdown {
  constructor(@Inject(RATE_LIMITER) private readonly limiter: RateLimiter) {}

  async onApplicationShutdown(): Promise<void> {
    await this.limiter.close();
  }
}
