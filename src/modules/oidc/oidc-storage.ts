import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { DataSource, type EntityManager, LessThan } from 'typeorm';
import { DirectSql } from '../../common/database/direct-sql';
import { Clock } from '../../common/time/clock';
import { OidcPayloadEntity } from './entities/oidc-payload.entity';
import { OidcPayloadSql } from './oidc-payload-sql';

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
  /** Deletes expired artifacts (Redis expires its own); returns how many went. */
  purgeExpired(): Promise<number>;
  close(): Promise<void>;
}

const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

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

  async purgeExpired(): Promise<number> {
    const result = await this.rows.delete({ expiresAt: LessThan(this.clock.now()) });
    return result.affected ?? 0;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Artifacts as Redis hashes (`payload`, `consumed`) expiring with the artifact; a set per grant lists
 * the keys issued under it, and uid / user-code keys point at their artifact, so every replica shares
 * the provider's state.
 */
export class RedisOidcStorage implements OidcStorage {
  constructor(
    private readonly redis: Redis,
    /** Seconds a grant's index is kept: no artifact issued under a grant outlives the grant. */
    private readonly grantTtlSeconds: number,
    private readonly prefix = 'arbor:oidc:',
  ) {}

  adapterFor(model: string): Adapter {
    const key = (id: string) => `${this.prefix}${model}:${id}`;
    const grantKey = (grantId: string) => `${this.prefix}grant:${grantId}`;
    const uidKey = (uid: string) => `${this.prefix}${model}:uid:${uid}`;
    const userCodeKey = (code: string) => `${this.prefix}${model}:user_code:${code}`;
    const accountKey = (accountId: string) => this.accountKey(accountId);
    const find = async (id: string): Promise<AdapterPayload | undefined> => {
      const stored = await this.redis.hgetall(key(id));
      if (!stored.payload) return undefined;
      const payload = JSON.parse(stored.payload) as AdapterPayload;
      return stored.consumed ? { ...payload, consumed: Number(stored.consumed) } : payload;
    };
    const findBy = async (indexKey: string) => {
      const id = await this.redis.get(indexKey);
      return id ? find(id) : undefined;
    };
    return {
      upsert: async (id, payload, expiresIn) => {
        const multi = this.redis.multi().del(key(id)).hset(key(id), 'payload', JSON.stringify(payload));
        if (expiresIn) multi.expire(key(id), expiresIn);
        if (payload.grantId) {
          multi.rpush(grantKey(payload.grantId), key(id));
          multi.expire(grantKey(payload.grantId), Math.max(expiresIn ?? 0, this.grantTtlSeconds));
        }
        if (payload.accountId) {
          multi.rpush(accountKey(payload.accountId), key(id));
          multi.expire(accountKey(payload.accountId), Math.max(expiresIn ?? 0, this.grantTtlSeconds));
        }
        if (payload.uid) {
          multi.set(uidKey(payload.uid), id);
          if (expiresIn) multi.expire(uidKey(payload.uid), expiresIn);
        }
        if (payload.userCode) {
          multi.set(userCodeKey(payload.userCode), id);
          if (expiresIn) multi.expire(userCodeKey(payload.userCode), expiresIn);
        }
        await multi.exec();
      },
      find,
      findByUid: (uid) => findBy(uidKey(uid)),
      findByUserCode: (code) => findBy(userCodeKey(code)),
      consume: async (id) => {
        if (await this.redis.exists(key(id))) {
          await this.redis.hset(key(id), 'consumed', Math.floor(Date.now() / 1000));
        }
      },
      destroy: async (id) => {
        await this.redis.del(key(id));
      },
      revokeByGrantId: async (grantId) => {
        const keys = await this.redis.lrange(grantKey(grantId), 0, -1);
        const multi = this.redis.multi();
        for (const k of keys) if (k.startsWith(`${this.prefix}${model}:`)) multi.del(k);
        await multi.exec();
      },
    };
  }

  async revokeAccount(_manager: EntityManager, accountId: string): Promise<void> {
    const keys = await this.redis.lrange(this.accountKey(accountId), 0, -1);
    await this.redis.del(...keys, this.accountKey(accountId));
  }

  async sessionsOf(_manager: EntityManager, accountId: string): Promise<AdapterPayload[]> {
    const keys = await this.redis.lrange(this.accountKey(accountId), 0, -1);
    const sessionKeys = [...new Set(keys)].filter((k) => k.startsWith(`${this.prefix}Session:`));
    const payloads = await Promise.all(sessionKeys.map((k) => this.redis.hget(k, 'payload')));
    return payloads.flatMap((p) => (p ? [JSON.parse(p) as AdapterPayload] : []));
  }

  private accountKey(accountId: string): string {
    return `${this.prefix}account:${accountId}`;
  }

  purgeExpired(): Promise<number> {
    return Promise.resolve(0);
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
