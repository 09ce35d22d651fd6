import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import pino from 'pino';
import { AppConfig } from '../src/config/app-config';
import { DingRequestLimits } from '../src/modules/sync/ding-request-limits';
import { DingTalkClient } from '../src/modules/sync/dingtalk/dingtalk.client';
import {
  RedisSlidingWindowLimiter,
  type RequestLimiter,
  SlidingWindowLimiter,
} from '../src/modules/sync/dingtalk/rate-limiter';
import { FakeDingTalk, seedDirectory } from './harness/dingtalk-fake';
import { freePort } from './harness/services';

/** The most starts within any `windowMs` (times in ms, any order). */
function peakWithin(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end] - sorted[start] >= windowMs) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

/**
 * "At most 20 requests per second per app" across processes: the DingTalk request window kept in the
 * harness's real Redis, shared by separate connections as the API and the workers would hold them.
 */
describe('DingTalk request window shared through Redis', () => {
  const redisUrl = process.env.ARBOR_TEST_REDIS_URL ?? '';
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    connections.push(redis);
    return redis;
  };

  beforeAll(() => {
    if (!redisUrl) throw new Error('ARBOR_TEST_REDIS_URL is not set: run through jest.e2e.config.js');
  });
  afterAll(() => {
    for (const redis of connections) redis.disconnect();
  });

  it('two limiters on one key never start more than the limit in any window together', async () => {
    const key = `arbor:test:rps:${randomBytes(4).toString('hex')}`;
    const limit = 10;
    const windowMs = 1000;
    // Redis decides by its own clock; the times here are taken when the grant's answer is handled,
    // which on a loaded machine (the suites run two at a time beside their servers) can be tens of ms
    // later.
    const slackMs = 80;
    const [ra, rb] = [connect(), connect()];
    // Connected before the clock starts: a connection's set-up is not part of any window.
    await Promise.all([ra.ping(), rb.ping()]);
    const a = new RedisSlidingWindowLimiter(ra, key, limit, windowMs);
    const b = new RedisSlidingWindowLimiter(rb, key, limit, windowMs);
    const starts: number[] = [];
    const began = Date.now();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 === 0 ? a : b).acquire().then(() => starts.push(Date.now())),
      ),
    );
    expect(starts).toHaveLength(30);
    expect(peakWithin(starts, windowMs - slackMs)).toBeLessThanOrEqual(limit);
    // 30 starts at 10 per window: at least two full windows after the first ten.
    expect(Date.now() - began).toBeGreaterThanOrEqual(2 * windowMs - slackMs);
    // Each limiter alone would have let 10 start in the first window: they shared one.
    expect(starts.filter((t) => t - starts[0] < windowMs - slackMs)).toHaveLength(limit);
  });

  it('a grant that waits in a busy event loop does not let later grants bunch with it', async () => {
    const key = `arbor:test:rps:${randomBytes(4).toString('hex')}`;
    const limit = 5;
    const windowMs = 300;
    const limiter = new RedisSlidingWindowLimiter(connect(), key, limit, windowMs);
    await limiter.acquire(); // connected, and one slot of the window taken
    await new Promise((r) => setTimeout(r, windowMs + 20));
    const starts: number[] = [];
    const all = Promise.all(
      Array.from({ length: 2 * limit }, () => limiter.acquire().then(() => starts.push(Date.now()))),
    );
    // The first request is with Redis now; its answer arrives while this process is busy for 80 ms,
    // so Redis's window begins 80 ms before the first request here actually starts.
    await new Promise((r) => setImmediate(r));
    const busyUntil = Date.now() + 80;
    while (Date.now() < busyUntil) {
      // busy
    }
    await all;
    expect(starts).toHaveLength(2 * limit);
    expect(peakWithin(starts, windowMs)).toBeLessThanOrEqual(limit);
  });

  it('two DingTalk clients of one app (API and worker) stay within 20 a second at DingTalk', async () => {
    const fake = new FakeDingTalk();
    const base = await fake.start();
    try {
      seedDirectory(fake, 1, 1);
      const config = AppConfig.fromEnvironment({
        NODE_ENV: 'test',
        REDIS_URL: redisUrl,
        DINGTALK_MAX_RPS: '20',
      });
      const logger = pino({ level: 'silent' });
      // One DingRequestLimits per process, as the API and a worker each have.
      const api = new DingRequestLimits(config, logger);
      const worker = new DingRequestLimits(config, logger);
      const appKey = fake.appKey;
      // When each request is sent, from both clients: the window's guarantee is about these.
      let sent: number[] = [];
      const onRequest = () => sent.push(Date.now());
      const client = (limiter: RequestLimiter, maxRetries?: number) =>
        new DingTalkClient({
          apiBase: base,
          newApiBase: base,
          appKey,
          appSecret: fake.appSecret,
          maxRps: 20,
          limiter,
          onRequest,
          maxRetries,
        });
      try {
        const [one, two] = [client(api.forApp(appKey)), client(worker.forApp(appKey))];
        await Promise.all([one.accessToken(), two.accessToken()]);
        await new Promise((r) => setTimeout(r, 1100));
        sent = [];
        const calls = (c: DingTalkClient) => Array.from({ length: 30 }, () => c.listSubDepartments(1));
        await Promise.all([...calls(one), ...calls(two)]);
        expect(sent.length).toBeGreaterThanOrEqual(60);
        // Redis grants at most 20 per 1030 ms by its clock; a grant reaches `send` a few ms later here,
        // more on a busy machine, so the check here leaves 80 ms of that delay.
        expect(peakWithin(sent, 950)).toBeLessThanOrEqual(20);
        // (DingTalk's own count is not asserted here: the fake shares this process's event loop with both
        // clients, so its arrival times bunch under load; the worker suite checks the fake's side.)
      } finally {
        api.onApplicationShutdown();
        worker.onApplicationShutdown();
      }

      // The same load through two per-process windows goes over: the shared one is what held it.
      await new Promise((r) => setTimeout(r, 1100));
      const [one, two] = [
        client(new SlidingWindowLimiter(20, 1030), 1),
        client(new SlidingWindowLimiter(20, 1030), 1),
      ];
      sent = [];
      await Promise.allSettled(
        [one, two].flatMap((c) =>
          Array.from({ length: 30 }, () => c.call('topapi/v2/department/listsub', { dept_id: 1 })),
        ),
      );
      expect(peakWithin(sent, 1000)).toBeGreaterThan(20);
    } finally {
      await fake.stop();
    }
  }, 30000);

  it('without a reachable Redis each process keeps its own window and nothing waits for Redis', async () => {
    const port = await freePort();
    const config = AppConfig.fromEnvironment({
      NODE_ENV: 'test',
      REDIS_URL: `redis://127.0.0.1:${port}/0`,
      DINGTALK_MAX_RPS: '5',
    });
    const limits = new DingRequestLimits(config, pino({ level: 'silent' }));
    try {
      const limiter = limits.forApp('unreachable');
      const starts: number[] = [];
      const began = Date.now();
      await Promise.all(
        Array.from({ length: 12 }, () => limiter.acquire().then(() => starts.push(Date.now()))),
      );
      expect(peakWithin(starts, 1000)).toBeLessThanOrEqual(5);
      // Two more full windows for the last two batches, and no Redis timeout on top.
      expect(Date.now() - began).toBeLessThan(2 * 1030 + 1000);
    } finally {
      limits.onApplicationShutdown();
    }
  });
});
