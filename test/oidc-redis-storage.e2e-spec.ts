import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Redis } from 'ioredis';
import { RedisOidcStorage } from '../src/modules/oidc/oidc-storage';
import { TrackedHashReads } from '../src/modules/oidc/redis-tracked-reads';

/**
 * The provider's Redis storage against the real Redis: its grant and account indexes hold each live
 * artifact once (a session is saved on most requests), drop expired ones and expire with the last,
 * and revocation still finds artifacts a store written before the indexes were sorted sets listed.
 */
describe('RedisOidcStorage indexes', () => {
  let redis: Redis;
  let prefix: string;
  let storage: RedisOidcStorage;
  const noManager = undefined as unknown as EntityManager;
  const GRANT_TTL = 3600;

  beforeAll(() => {
    const url = process.env.ARBOR_TEST_REDIS_URL;
    if (!url) throw new Error('ARBOR_TEST_REDIS_URL is not set: run through jest.e2e.config.js');
    // As OidcModule builds it: commands of one event-loop turn go out as one pipeline.
    redis = new Redis(url, { enableAutoPipelining: true });
  });
  beforeEach(() => {
    prefix = `test:oidc:${randomUUID()}:`;
    storage = new RedisOidcStorage(redis, GRANT_TTL, prefix);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('indexes an account artifact once however often it is saved, and expires the index with its last', async () => {
    const sessions = storage.adapterFor('Session');
    for (let save = 0; save < 5; save++) {
      await sessions.upsert('s1', { accountId: '42', uid: 'u1', kind: 'Session' }, 600);
    }
    await storage.adapterFor('AccessToken').upsert('at1', { accountId: '42', grantId: 'g1' }, 60);
    const index = `${prefix}account-index:42`;
    expect(await redis.zrange(index, 0, -1)).toEqual([`${prefix}AccessToken:at1`, `${prefix}Session:s1`]);
    const ttl = await redis.ttl(index);
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    expect(await redis.zcard(`${prefix}grant-index:g1`)).toBe(1);
    expect((await storage.sessionsOf(noManager, '42')).map((s) => s.uid)).toEqual(['u1']);
  });

  it('drops members whose artifacts have expired when the index is next written', async () => {
    const index = `${prefix}account-index:7`;
    await redis.zadd(index, Math.floor(Date.now() / 1000) - 10, `${prefix}Session:gone`);
    await storage.adapterFor('Session').upsert('s2', { accountId: '7' }, 600);
    expect(await redis.zrange(index, 0, -1)).toEqual([`${prefix}Session:s2`]);
  });

  it('revokes by grant and by account, including what a legacy list index names', async () => {
    const tokens = storage.adapterFor('RefreshToken');
    await tokens.upsert('rt1', { accountId: '9', grantId: 'g9' }, 600);
    await tokens.upsert('rt2', { accountId: '9', grantId: 'g9' }, 600);
    // A token an earlier version indexed in plain lists.
    await redis.hset(`${prefix}RefreshToken:old`, 'payload', '{}');
    await redis.rpush(`${prefix}grant:g9`, `${prefix}RefreshToken:old`);
    await redis.rpush(`${prefix}account:9`, `${prefix}RefreshToken:old`);

    await tokens.revokeByGrantId?.('g9');
    expect(await tokens.find('rt1')).toBeUndefined();
    expect(await tokens.find('rt2')).toBeUndefined();
    expect(await redis.exists(`${prefix}RefreshToken:old`)).toBe(0);

    await storage.adapterFor('Session').upsert('s9', { accountId: '9' }, 600);
    await redis.hset(`${prefix}Session:legacy`, 'payload', '{"uid":"legacy"}');
    await redis.rpush(`${prefix}account:9`, `${prefix}Session:legacy`);
    expect((await storage.sessionsOf(noManager, '9')).map((s) => s.uid ?? null).sort()).toEqual([
      'legacy',
      null,
    ]);
    await storage.revokeAccount(noManager, '9');
    expect(await storage.adapterFor('Session').find('s9')).toBeUndefined();
    expect(
      await redis.exists(`${prefix}Session:legacy`, `${prefix}account-index:9`, `${prefix}account:9`),
    ).toBe(0);
  });

  it('finds by uid in one lookup, with the consumed mark; consuming what is gone creates nothing', async () => {
    const interactions = storage.adapterFor('Interaction');
    await interactions.upsert('i1', { uid: 'uid-1', kind: 'Interaction' }, 600);
    expect(await interactions.findByUid?.('uid-1')).toEqual({ uid: 'uid-1', kind: 'Interaction' });
    await interactions.consume('i1');
    expect((await interactions.findByUid?.('uid-1'))?.consumed).toBeGreaterThan(0);
    expect(await interactions.findByUid?.('no-such-uid')).toBeUndefined();
    await interactions.destroy('i1');
    expect(await interactions.findByUid?.('uid-1')).toBeUndefined();
    await interactions.consume('i1');
    expect(await redis.exists(`${prefix}Interaction:i1`)).toBe(0);
  });
});

/**
 * Token lookups kept in memory under Redis's client-side caching (CLIENT TRACKING with a redirect),
 * against the real Redis: another client's change to a kept key reaches this process as an
 * invalidation, this process's own writes are forgotten at once, and while the subscriber connection is
 * down nothing is kept.
 */
describe('RedisOidcStorage kept token lookups', () => {
  let redis: Redis;
  let other: Redis;
  let reader: Redis;
  let invalidations: Redis;
  let reads: TrackedHashReads;
  let storage: RedisOidcStorage;
  let prefix: string;
  const problems: unknown[] = [];
  /** The keys read from Redis over the tracking connection so far. */
  let keysRead: () => unknown[];
  const readsOf = (key: string) => keysRead().filter((k) => k === `${prefix}${key}`).length;

  const eventually = async (check: () => Promise<boolean>, what: string): Promise<void> => {
    const deadline = Date.now() + 3000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  beforeEach(async () => {
    const url = process.env.ARBOR_TEST_REDIS_URL as string;
    redis = new Redis(url, { enableAutoPipelining: true });
    // Another replica's connection.
    other = new Redis(url);
    reader = redis.duplicate();
    invalidations = redis.duplicate({ autoResubscribe: false, enableAutoPipelining: false });
    const hgetall = jest.spyOn(reader, 'hgetall');
    keysRead = () => hgetall.mock.calls.map(([key]) => key);
    reads = new TrackedHashReads(redis, reader, invalidations, (error) => problems.push(error));
    prefix = `test:oidc:${randomUUID()}:`;
    storage = new RedisOidcStorage(redis, 3600, prefix, reads);
    await eventually(() => Promise.resolve(reads.tracking), 'tracking is on');
  });
  afterEach(async () => {
    await storage.close();
    await other.quit();
    expect(problems).toEqual([]);
  });

  it('answers a kept access token from memory until another client deletes it', async () => {
    const tokens = storage.adapterFor('ClientCredentials');
    await tokens.upsert('cc1', { clientId: 'c1', kind: 'ClientCredentials' }, 600);
    for (let i = 0; i < 3; i++)
      expect(await tokens.find('cc1')).toEqual({ clientId: 'c1', kind: 'ClientCredentials' });
    expect(readsOf('ClientCredentials:cc1')).toBe(1);
    // The lookups of an introspection in the other models: their absence is kept too.
    const accessTokens = storage.adapterFor('AccessToken');
    expect(await accessTokens.find('cc1')).toBeUndefined();
    expect(await accessTokens.find('cc1')).toBeUndefined();
    expect(readsOf('AccessToken:cc1')).toBe(1);

    await other.del(`${prefix}ClientCredentials:cc1`);
    await eventually(async () => (await tokens.find('cc1')) === undefined, 'the deletion is seen');
    expect(readsOf('ClientCredentials:cc1')).toBe(2);
    // An absent key another client creates is invalidated as well.
    await other.hset(`${prefix}AccessToken:cc1`, 'payload', '{"kind":"AccessToken"}');
    await eventually(async () => (await accessTokens.find('cc1')) !== undefined, 'the new key is seen');
  });

  it('forgets at once what this process revokes or deletes itself', async () => {
    const tokens = storage.adapterFor('AccessToken');
    await tokens.upsert('at1', { accountId: '5', grantId: 'g5', kind: 'AccessToken' }, 600);
    await tokens.upsert('at2', { accountId: '5', grantId: 'g6', kind: 'AccessToken' }, 600);
    await tokens.upsert('at3', { accountId: '6', grantId: 'g7', kind: 'AccessToken' }, 600);
    for (const id of ['at1', 'at2', 'at3']) {
      await tokens.find(id);
      expect(await tokens.find(id)).toBeDefined();
    }
    // No waiting for the invalidation messages: the next lookup must already miss.
    await tokens.revokeByGrantId?.('g5');
    expect(await tokens.find('at1')).toBeUndefined();
    await tokens.destroy('at2');
    expect(await tokens.find('at2')).toBeUndefined();
    await storage.revokeAccount(undefined as unknown as EntityManager, '6');
    expect(await tokens.find('at3')).toBeUndefined();
  });

  it('keeps only the absence of a refresh token, never its state', async () => {
    const tokens = storage.adapterFor('RefreshToken');
    await tokens.upsert('rt1', { accountId: '8', grantId: 'g8', kind: 'RefreshToken' }, 600);
    await tokens.find('rt1');
    await tokens.find('rt1');
    expect(readsOf('RefreshToken:rt1')).toBe(2);
    await tokens.consume('rt1');
    expect((await tokens.find('rt1'))?.consumed).toBeGreaterThan(0);
    await tokens.find('rt-none');
    await tokens.find('rt-none');
    expect(readsOf('RefreshToken:rt-none')).toBe(1);
  });

  it('does not keep a read that a write overtook', async () => {
    const tokens = storage.adapterFor('AccessToken');
    await tokens.upsert('at9', { kind: 'AccessToken' }, 600);
    const reading = tokens.find('at9');
    reads.forget([`${prefix}AccessToken:at9`]);
    expect(await reading).toBeDefined();
    await tokens.find('at9');
    expect(readsOf('AccessToken:at9')).toBe(2);
  });

  it('keeps nothing while its subscriber is cut off, and tracks again on the new connection', async () => {
    const tokens = storage.adapterFor('AccessToken');
    await tokens.upsert('at7', { kind: 'AccessToken' }, 600);
    await tokens.find('at7');
    const subscriberId = await subscriberClientId(other, invalidations);
    // Redis drops the subscriber: the invalidations it would have carried are lost with it.
    await other.client('KILL', 'ID', subscriberId);
    await eventually(() => Promise.resolve(!reads.tracking), 'tracking is off');
    await other.del(`${prefix}AccessToken:at7`);
    expect(await tokens.find('at7')).toBeUndefined();
    await eventually(() => Promise.resolve(reads.tracking), 'tracking is on again');
    await tokens.upsert('at8', { kind: 'AccessToken' }, 600);
    await tokens.find('at8');
    await other.del(`${prefix}AccessToken:at8`);
    await eventually(async () => (await tokens.find('at8')) === undefined, 'the deletion is seen again');
  });

  it('drops everything it keeps when a database is flushed', async () => {
    // A database of its own (the other suites use the first): Redis tells every tracking client of a
    // flush with an empty invalidation, whatever it had read.
    const url = process.env.ARBOR_TEST_REDIS_URL as string;
    const scratch = new Redis(url, { db: 15, enableAutoPipelining: true });
    const scratchReads = TrackedHashReads.beside(scratch, (error) => problems.push(error));
    const scratchStorage = new RedisOidcStorage(scratch, 3600, prefix, scratchReads);
    try {
      await eventually(() => Promise.resolve(scratchReads.tracking), 'tracking is on');
      const tokens = scratchStorage.adapterFor('AccessToken');
      await tokens.upsert('at15', { kind: 'AccessToken' }, 600);
      expect(await tokens.find('at15')).toBeDefined();
      expect(await tokens.find('at15')).toBeDefined();
      const flusher = new Redis(url, { db: 15 });
      await flusher.flushdb();
      await flusher.quit();
      await eventually(async () => (await tokens.find('at15')) === undefined, 'the flush is seen');
    } finally {
      await scratchStorage.close();
    }
  });

  it('turns tracking on again for a new reading connection', async () => {
    const tokens = storage.adapterFor('ClientCredentials');
    await tokens.upsert('cc5', { kind: 'ClientCredentials' }, 600);
    await tokens.find('cc5');
    await other.client('KILL', 'ID', String(await reader.client('ID')));
    await eventually(() => Promise.resolve(!reads.tracking), 'tracking is off');
    await eventually(() => Promise.resolve(reads.tracking), 'tracking is on again');
    // Read over the new connection, so kept under its tracking: another client's deletion reaches it.
    expect(await tokens.find('cc5')).toBeDefined();
    expect(await tokens.find('cc5')).toBeDefined();
    await other.del(`${prefix}ClientCredentials:cc5`);
    await eventually(async () => (await tokens.find('cc5')) === undefined, 'the deletion is seen');
  });
});

/** The Redis client id of a subscribed connection (which may not ask itself), found by its local port. */
async function subscriberClientId(asker: Redis, subscriber: Redis): Promise<string> {
  const port = (subscriber.stream as { localPort?: number }).localPort;
  const list = String(await asker.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  const id = list
    .split('\n')
    .map((line) => /^id=(\d+) addr=[^ ]*:(\d+) /.exec(line))
    .find((match) => match?.[2] === String(port))?.[1];
  if (!id) throw new Error(`no pubsub client on local port ${String(port)}`);
  return id;
}
