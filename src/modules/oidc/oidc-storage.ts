import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { DataSource, type EntityManager, In, LessThan } from 'typeorm';
import { DirectSql } from '../../common/database/direct-sql';
import { Clock } from '../../common/time/clock';
import { OidcPayloadEntity } from './entities/oidc-payload.entity';
import { OidcPayloadSql } from './oidc-payload-sql';
import type { StoredHash, TrackedHashReads } from './redis-tracked-reads';

/** Where the provider keeps its artifacts: the database (default) or Redis (when REDIS_URL is set). */
export interface OidcStorage {
  adapterFor(model: string): Adapter;
  /**
   * Ends everything of one account (sessions, grants, codes, tokens): its password changed, or it was
   * disabled or deleted. Runs inside that change's transaction where the storage is the database.
   */
  revokeAccount(manager: EntityManager, accountId: string): Promise<void>;
  /** The live provider sessions of one account (to tell their clients before `revokeAccount` ends them). */
  sessionsOf(manager: EntityManager, accountId: string): Promise<AdapterPayload[]>;
  /**
   * Ends these provider sessions (payloads as `sessionsOf` gave them) and everything issued under their
   * grants: one browser's sign-in to Arbor ended. Inside that sign-out's transaction on the database.
   */
  endSessions(manager: EntityManager, sessions: AdapterPayload[]): Promise<void>;
  /** Deletes expired artifacts (Redis expires its own); returns how many went. */
  purgeExpired(): Promise<number>;
  close(): Promise<void>;
}

const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** The grants a provider session's authorizations (one per app signed in to) were given. */
function grantsOf(sessions: AdapterPayload[]): string[] {
  return sessions.flatMap((session) =>
    Object.values(session.authorizations ?? {}).flatMap(({ grantId }) =>
      typeof grantId === 'string' ? [grantId] : [],
    ),
  );
}

/** One `oidc_payloads` row per artifact, its lookups indexed; consumed and expiry times as columns. */
@Injectable()
export class DatabaseOidcStorage implements OidcStorage {
  private sql: OidcPayloadSql | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly direct: DirectSql,
  ) {}

  private get rows() {
    return this.dataSource.getRepository(OidcPayloadEntity);
  }

  adapterFor(model: string): Adapter {
    const sql = (this.sql ??= new OidcPayloadSql(this.dataSource, this.direct));
    const live = async (
      by: 'id' | 'uid' | 'userCode',
      value: string,
    ): Promise<AdapterPayload | undefined> => {
      const row = await sql.find(model, by, value);
      if (!row || (row.expiresAt && row.expiresAt.getTime() <= this.clock.now().getTime())) return undefined;
      const payload = JSON.parse(row.payload) as AdapterPayload;
      return row.consumedAt ? { ...payload, consumed: epochSeconds(row.consumedAt) } : payload;
    };
    return {
      upsert: (id, payload, expiresIn) =>
        sql.upsert({
          model,
          id,
          payload: JSON.stringify(payload),
          grantId: payload.grantId ?? null,
          uid: payload.uid ?? null,
          userCode: payload.userCode ?? null,
          accountId: payload.accountId ?? null,
          expiresAt: expiresIn ? new Date(this.clock.now().getTime() + expiresIn * 1000) : null,
        }),
      find: (id) => live('id', id),
      findByUid: (uid) => live('uid', uid),
      findByUserCode: (userCode) => live('userCode', userCode),
      consume: (id) => sql.consume(model, id, this.clock.now()),
      destroy: (id) => sql.destroy(model, id),
      revokeByGrantId: (grantId) => sql.revokeByGrantId(model, grantId),
    };
  }

  async revokeAccount(manager: EntityManager, accountId: string): Promise<void> {
    await manager.getRepository(OidcPayloadEntity).delete({ accountId });
  }

  async sessionsOf(manager: EntityManager, accountId: string): Promise<AdapterPayload[]> {
    const rows = await manager
      .getRepository(OidcPayloadEntity)
      .find({ where: { model: 'Session', accountId } });
    const now = this.clock.now().getTime();
    return rows
      .filter((row) => !row.expiresAt || row.expiresAt.getTime() > now)
      .map((row) => JSON.parse(row.payload) as AdapterPayload);
  }

  async endSessions(manager: EntityManager, sessions: AdapterPayload[]): Promise<void> {
    const rows = manager.getRepository(OidcPayloadEntity);
    const grantIds = grantsOf(sessions);
    if (grantIds.length > 0) {
      await rows.delete({ grantId: In(grantIds) });
      await rows.delete({ model: 'Grant', id: In(grantIds) });
    }
    const ids = sessions.flatMap((session) => (session.jti ? [session.jti] : []));
    if (ids.length > 0) await rows.delete({ model: 'Session', id: In(ids) });
  }

  async purgeExpired(): Promise<number> {
    const result = await this.rows.delete({ expiresAt: LessThan(this.clock.now()) });
    return result.affected ?? 0;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Saves an artifact in one command: its hash (replacing any earlier one) with its lifetime, its key in
 * the grant and account indexes, and the uid / user-code keys pointing at it. An index is a sorted set
 * scored by when each artifact expires; members already expired are dropped and the index expires with
 * its last one, so it holds each live artifact once however often it is saved (a session is saved on
 * most requests).
 * KEYS: the artifact, its grant index, its account index, its uid pointer, its user-code pointer ('' for
 * those the payload has none of). ARGV: the payload JSON, its lifetime in seconds (0: none), its expiry
 * for the indexes and now (epoch seconds), the artifact's id.
 */
const UPSERT = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'payload', ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
for i = 2, 3 do
  if KEYS[i] ~= '' then
    redis.call('ZADD', KEYS[i], ARGV[3], KEYS[1])
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[4])
    local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
    if last[2] then redis.call('EXPIREAT', KEYS[i], last[2]) end
  end
end
for i = 4, 5 do
  if KEYS[i] ~= '' then
    if ttl > 0 then redis.call('SET', KEYS[i], ARGV[5], 'EX', ttl) else redis.call('SET', KEYS[i], ARGV[5]) end
  end
end
return 0`;

/**
 * The artifact a uid or user-code key points at, in one round trip (standalone Redis: the script reads
 * the key the pointer names). KEYS[1] the pointer; ARGV[1] the model's key prefix. The hash's fields
 * and values, flat, or nil.
 */
const FIND_BY = `
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('HGETALL', ARGV[1] .. id)`;

/** Marks an artifact consumed if it still exists (never creating a hash without a lifetime). */
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'consumed', ARGV[1]) end
return 0`;

/**
 * The lookups worth keeping in memory: a resource server introspects the same access token on every
 * call it gets, and asks for it in all three token models (the provider does not know which it is),
 * so each introspection is three reads of keys that rarely change. An access token is only ever issued,
 * then deleted or expired: all of which Redis reports. A refresh token is also marked consumed, and
 * reuse detection must see that mark on every replica with no delay at all: only its absence is kept.
 */
const KEPT_READS: Partial<Record<string, (hash: StoredHash) => boolean>> = {
  AccessToken: () => true,
  ClientCredentials: () => true,
  RefreshToken: (hash) => hash.payload === undefined,
};

/** The scripts above, as ioredis defines them on the client. */
interface ScriptCommands {
  arborOidcUpsert(
    keys: [artifact: string, grantIndex: string, accountIndex: string, uid: string, userCode: string],
    payload: string,
    lifetime: number,
    expiresAt: number,
    now: number,
    id: string,
  ): Promise<unknown>;
  arborOidcFindBy(pointer: string, keyPrefix: string): Promise<string[] | null>;
  arborOidcConsume(key: string, at: number): Promise<unknown>;
}

/**
 * Artifacts as Redis hashes (`payload`, `consumed`) expiring with the artifact; an index per grant and
 * per account lists the keys issued under it, and uid / user-code keys point at their artifact, so
 * every replica shares the provider's state.
 */
export class RedisOidcStorage implements OidcStorage {
  constructor(
    private readonly redis: Redis,
    /** Seconds an artifact saved without a lifetime is indexed for (no artifact outlives its grant). */
    private readonly grantTtlSeconds: number,
    private readonly prefix = 'arbor:oidc:',
    /** Token lookups kept in memory while Redis tracks them (see KEPT_READS); none without. */
    private readonly reads?: TrackedHashReads,
  ) {
    redis.defineCommand('arborOidcUpsert', { numberOfKeys: 5, lua: UPSERT });
    redis.defineCommand('arborOidcFindBy', { numberOfKeys: 1, lua: FIND_BY });
    redis.defineCommand('arborOidcConsume', { numberOfKeys: 1, lua: CONSUME });
  }

  adapterFor(model: string): Adapter {
    const key = (id: string) => `${this.prefix}${model}:${id}`;
    const uidKey = (uid: string) => `${this.prefix}${model}:uid:${uid}`;
    const userCodeKey = (code: string) => `${this.prefix}${model}:user_code:${code}`;
    const scripts = this.redis as unknown as ScriptCommands;
    const artifact = (stored: StoredHash): AdapterPayload | undefined => {
      if (!stored.payload) return undefined;
      const payload = JSON.parse(stored.payload) as AdapterPayload;
      return stored.consumed ? { ...payload, consumed: Number(stored.consumed) } : payload;
    };
    const keep = KEPT_READS[model];
    const find = async (id: string) =>
      artifact(keep && this.reads ? await this.reads.read(key(id), keep) : await this.redis.hgetall(key(id)));
    const findBy = async (pointer: string) => {
      const flat = await scripts.arborOidcFindBy(pointer, key(''));
      const stored: Record<string, string> = {};
      for (let i = 0; flat && i + 1 < flat.length; i += 2) stored[flat[i]] = flat[i + 1];
      return artifact(stored);
    };
    return {
      upsert: async (id, payload, expiresIn) => {
        const now = Math.floor(Date.now() / 1000);
        await scripts.arborOidcUpsert(
          [
            key(id),
            payload.grantId ? this.grantIndex(payload.grantId) : '',
            payload.accountId ? this.accountIndex(payload.accountId) : '',
            payload.uid ? uidKey(payload.uid) : '',
            payload.userCode ? userCodeKey(payload.userCode) : '',
          ],
          JSON.stringify(payload),
          expiresIn || 0,
          now + (expiresIn || this.grantTtlSeconds),
          now,
          id,
        );
        this.reads?.forget([key(id)]);
      },
      find,
      findByUid: (uid) => findBy(uidKey(uid)),
      findByUserCode: (code) => findBy(userCodeKey(code)),
      consume: async (id) => {
        await scripts.arborOidcConsume(key(id), Math.floor(Date.now() / 1000));
        this.reads?.forget([key(id)]);
      },
      destroy: async (id) => {
        await this.redis.del(key(id));
        this.reads?.forget([key(id)]);
      },
      revokeByGrantId: async (grantId) => {
        const keys = await this.indexed(this.grantIndex(grantId), this.legacyGrantIndex(grantId));
        const mine = keys.filter((k) => k.startsWith(`${this.prefix}${model}:`));
        const multi = this.redis.multi();
        for (const k of mine) multi.del(k);
        await multi.exec();
        this.reads?.forget(mine);
      },
    };
  }

  async revokeAccount(_manager: EntityManager, accountId: string): Promise<void> {
    const index = this.accountIndex(accountId);
    const legacy = this.legacyAccountIndex(accountId);
    const keys = await this.indexed(index, legacy);
    await this.redis.del(...keys, index, legacy);
    this.reads?.forget(keys);
  }

  async sessionsOf(_manager: EntityManager, accountId: string): Promise<AdapterPayload[]> {
    const keys = await this.indexed(this.accountIndex(accountId), this.legacyAccountIndex(accountId));
    const sessionKeys = keys.filter((k) => k.startsWith(`${this.prefix}Session:`));
    const payloads = await Promise.all(sessionKeys.map((k) => this.redis.hget(k, 'payload')));
    return payloads.flatMap((p) => (p ? [JSON.parse(p) as AdapterPayload] : []));
  }

  async endSessions(_manager: EntityManager, sessions: AdapterPayload[]): Promise<void> {
    const grantIds = grantsOf(sessions);
    const issued = await Promise.all(
      grantIds.map((grantId) => this.indexed(this.grantIndex(grantId), this.legacyGrantIndex(grantId))),
    );
    const keys = [
      ...issued.flat(),
      ...grantIds.flatMap((grantId) => [
        `${this.prefix}Grant:${grantId}`,
        this.grantIndex(grantId),
        this.legacyGrantIndex(grantId),
      ]),
      ...sessions.flatMap((session) => [
        ...(session.jti ? [`${this.prefix}Session:${session.jti}`] : []),
        ...(session.uid ? [`${this.prefix}Session:uid:${session.uid}`] : []),
      ]),
    ];
    if (keys.length > 0) await this.redis.del(...keys);
    this.reads?.forget(keys);
  }

  /** The keys an index lists, with those of the list it replaced (kept by stores written before). */
  private async indexed(index: string, legacyList: string): Promise<string[]> {
    const [current, legacy] = await Promise.all([
      this.redis.zrange(index, 0, -1),
      this.redis.lrange(legacyList, 0, -1),
    ]);
    return [...new Set([...current, ...legacy])];
  }

  private grantIndex(grantId: string): string {
    return `${this.prefix}grant-index:${grantId}`;
  }

  private accountIndex(accountId: string): string {
    return `${this.prefix}account-index:${accountId}`;
  }

  /**
   * Before the sorted-set indexes, each save appended to a list; those lists expire with their last
   * artifact (at most the refresh token lifetime after the upgrade) and are read until then.
   */
  private legacyGrantIndex(grantId: string): string {
    return `${this.prefix}grant:${grantId}`;
  }

  private legacyAccountIndex(accountId: string): string {
    return `${this.prefix}account:${accountId}`;
  }

  purgeExpired(): Promise<number> {
    return Promise.resolve(0);
  }

  async close(): Promise<void> {
    await this.reads?.close();
    await this.redis.quit();
  }
}
