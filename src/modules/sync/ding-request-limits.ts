import { createHash } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { AppConfig } from '../../config/app-config';
import { DINGTALK_WINDOW_MS } from './dingtalk/dingtalk.client';
import {
  RedisSlidingWindowLimiter,
  type RequestLimiter,
  SlidingWindowLimiter,
} from './dingtalk/rate-limiter';

const FALLBACK_LOG_INTERVAL_MS = 60000;

/**
 * "At most DINGTALK_MAX_RPS requests per second per app": one request window per DingTalk app key.
 * With REDIS_URL the window lives in Redis, so the API's sign-ins and every worker's sync share it;
 * without Redis there is one process, and the window is kept in memory.
 */
@Injectable()
export class DingRequestLimits implements OnApplicationShutdown {
  private readonly redis: Redis | null;
  private readonly limiters = new Map<string, RequestLimiter>();
  private lastFallbackLog = 0;

  constructor(
    private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    // A connection of its own that fails fast while Redis is away (the limiter then falls back).
    this.redis = config.redisUrl
      ? new Redis(config.redisUrl, {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          connectTimeout: 2000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        })
      : null;
    this.redis?.on('error', () => undefined);
  }

  /** The window of one app; the same object for every client of that app in this process. */
  forApp(appKey: string): RequestLimiter {
    let limiter = this.limiters.get(appKey);
    if (!limiter) {
      const limit = this.config.dingtalk.maxRps;
      limiter = this.redis
        ? new RedisSlidingWindowLimiter(
            this.redis,
            `arbor:dingtalk:rps:${createHash('sha256').update(appKey).digest('hex').slice(0, 32)}`,
            limit,
            DINGTALK_WINDOW_MS,
            undefined,
            (error) => this.fellBack(error),
          )
        : new SlidingWindowLimiter(limit, DINGTALK_WINDOW_MS);
      this.limiters.set(appKey, limiter);
    }
    return limiter;
  }

  private fellBack(error: unknown): void {
    const now = Date.now();
    if (now - this.lastFallbackLog < FALLBACK_LOG_INTERVAL_MS) return;
    this.lastFallbackLog = now;
    this.logger.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'Redis unreachable: DingTalk requests are limited per process until it is back',
    );
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }
}
