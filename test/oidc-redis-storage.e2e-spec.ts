import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Redis } from 'ioredis';
import { RedisOidcStorage } from '../src/modules/oidc/oidc-storage';

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
