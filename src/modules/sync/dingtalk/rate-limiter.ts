import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';

/** Waits for a turn to send one request to DingTalk. */
export interface RequestLimiter {
  acquire(): Promise<void>;
}

type Sleep = (ms: number) => Promise<void>;
const realSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * At most `limit` starts in any window of `windowMs` (a sliding window, not a bucket that can burst
 * twice at a boundary): DingTalk counts requests per second per app and API.
 */
export class SlidingWindowLimiter implements RequestLimiter {
  private readonly starts: number[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly limit: number,
    private readonly windowMs = 1000,
    private readonly now: () => number = Date.now,
    private readonly sleep: Sleep = realSleep,
  ) {}

  /** Resolves when one more request may start; callers are served in order. */
  acquire(): Promise<void> {
    const turn = this.tail.then(() => this.take());
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private async take(): Promise<void> {
    for (;;) {
      const now = this.now();
      while (this.starts.length > 0 && now - this.starts[0] >= this.windowMs) this.starts.shift();
      if (this.starts.length < this.limit) {
        this.starts.push(now);
        return;
      }
      // +1: the oldest start must be a full window old, not just at its edge.
      await this.sleep(this.starts[0] + this.windowMs - now + 1);
    }
  }
}

// A sorted set of start times (Redis's own clock, so replicas with skewed clocks agree): drop those a
// full window old, then take a slot if one is free (0) or answer how long until the oldest frees one.
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + window - now + 1
`;

/**
 * The same sliding window kept in Redis, so every process using one DingTalk app (API sign-ins,
 * workers) shares it, and each process also keeps its own. While Redis cannot be reached only the
 * process's own window applies, so a Redis restart slows nothing down and loses no request.
 */
export class RedisSlidingWindowLimiter implements RequestLimiter {
  private readonly local: SlidingWindowLimiter;
  private readonly id = randomBytes(6).toString('hex');
  private sequence = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly limit: number,
    private readonly windowMs = 1000,
    private readonly sleep: Sleep = realSleep,
    private readonly onFallback: (error: unknown) => void = () => undefined,
  ) {
    this.local = new SlidingWindowLimiter(limit, windowMs);
  }

  /** Callers of one process are served in order; processes compete fairly through Redis. */
  acquire(): Promise<void> {
    const turn = this.tail.then(() => this.take());
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private async take(): Promise<void> {
    await this.takeShared();
    // Redis grants by its clock, and its answer can wait in a busy event loop before the request
    // goes out; the process's own window, timed where it sends, keeps such late grants from bunching.
    await this.local.acquire();
  }

  /** A slot in the shared window, or none while Redis cannot be reached. */
  private async takeShared(): Promise<void> {
    for (;;) {
      let waitMs: number;
      try {
        const member = `${this.id}:${(this.sequence += 1)}`;
        waitMs = Number(
          await this.redis.eval(TAKE_SCRIPT, 1, this.key, String(this.limit), String(this.windowMs), member),
        );
      } catch (error) {
        this.onFallback(error);
        return;
      }
      if (waitMs <= 0) return;
      await this.sleep(Math.min(waitMs, this.windowMs));
    }
  }
}
