import { Injectable, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';

/** How long one dependency may take to answer before it counts as down. */
const CHECK_TIMEOUT_MS = 2000;

export type CheckResult = 'ok' | `down: ${string}`;

export interface Readiness {
  ready: boolean;
  checks: { database: CheckResult; redis?: CheckResult; shutdown?: CheckResult };
}

/**
 * Readiness: can this process serve requests right now? The database must answer, and Redis too when
 * REDIS_URL is set (it holds the shared login limits). Once shutdown has begun the answer is "not ready",
 * so load balancers stop sending new requests while in-flight ones finish.
 */
@Injectable()
export class ReadinessService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly redis: Redis | null;
  private draining = false;

  constructor(
    private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    // A connection of its own: a readiness probe must not queue behind (or disturb) the rate limiter's.
    this.redis = config.redisUrl
      ? new Redis(config.redisUrl, {
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          connectTimeout: CHECK_TIMEOUT_MS,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        })
      : null;
    // ioredis reports connection errors as events; the check reports them as "down".
    this.redis?.on('error', () => undefined);
  }

  async check(): Promise<Readiness> {
    const [database, redis] = await Promise.all([
      probe(() => this.dataSource.query('SELECT 1')),
      this.redis ? probe(() => this.pingRedis()) : Promise.resolve(undefined),
    ]);
    const checks: Readiness['checks'] = { database };
    if (redis !== undefined) checks.redis = redis;
    if (this.draining) checks.shutdown = 'down: shutting down';
    return { ready: Object.values(checks).every((result) => result === 'ok'), checks };
  }

  beforeApplicationShutdown(): void {
    this.draining = true;
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.redis) return;
    if (this.redis.status === 'ready') await this.redis.quit();
    else this.redis.disconnect();
  }

  private async pingRedis(): Promise<void> {
    const redis = this.redis as Redis;
    if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
    if ((await redis.ping()) !== 'PONG') throw new Error('unexpected answer to PING');
  }
}

async function probe(run: () => Promise<unknown>): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([run(), timeout]);
    return 'ok';
  } catch (error) {
    return `down: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
  }
}
