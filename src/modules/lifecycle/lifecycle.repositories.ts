import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, IsNull, MoreThan } from 'typeorm';
import { datetimeParameter } from '../../common/database/transaction-runner';
import { CaptchaEntity } from './entities/captcha.entity';
import { InvitationEntity } from './entities/invitation.entity';
import { type VerificationKind, VerificationEntity } from './entities/verification.entity';

@Injectable()
export class VerificationsRepository {
  constructor(private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(VerificationEntity);
  }

  insert(
    manager: EntityManager,
    row: Omit<VerificationEntity, 'id' | 'attempts' | 'consumedAt'>,
  ): Promise<VerificationEntity> {
    return this.repo(manager).save(this.repo(manager).create({ ...row, attempts: 0, consumedAt: null }));
  }

  async deleteById(manager: EntityManager, id: number): Promise<void> {
    await this.repo(manager).delete({ id });
  }

  /** The newest code or link sent for a purpose to an address (for the resend cooldown and the exchange). */
  latest(
    kind: VerificationKind,
    purpose: string,
    address: string,
    manager?: EntityManager,
  ): Promise<VerificationEntity | null> {
    return this.repo(manager).findOne({
      where: { kind, purpose, address },
      order: { createdAt: 'DESC', id: 'DESC' },
    });
  }

  findBySecret(
    kind: VerificationKind,
    secretHash: string,
    manager?: EntityManager,
  ): Promise<VerificationEntity | null> {
    return this.repo(manager).findOne({ where: { kind, secretHash } });
  }

  /** Counts a wrong guess unless the limit is already reached; false when it was. */
  async countAttempt(id: number, max: number): Promise<boolean> {
    const result = await this.repo()
      .createQueryBuilder()
      .update(VerificationEntity)
      .set({ attempts: () => 'attempts + 1' })
      .where('id = :id AND attempts < :max AND consumed_at IS NULL', { id, max })
      .execute();
    return (result.affected ?? 0) === 1;
  }

  /** Marks a secret used, once: of two parallel requests only one gets true. */
  async consume(manager: EntityManager, id: number, now: Date, maxAttempts?: number): Promise<boolean> {
    const query = this.repo(manager)
      .createQueryBuilder()
      .update(VerificationEntity)
      .set({ consumedAt: now })
      .where('id = :id AND consumed_at IS NULL', { id });
    if (maxAttempts !== undefined) query.andWhere('attempts < :max', { max: maxAttempts });
    const result = await query.execute();
    return (result.affected ?? 0) === 1;
  }

  /** Deletes up to `limit` codes and tokens that expired before `now`; returns how many went. */
  deleteExpiredBatch(manager: EntityManager, now: Date, limit: number): Promise<number> {
    return deleteBatch(
      manager,
      'verifications',
      'id',
      'expires_at < ?',
      [datetimeParameter(this.dataSource, now)],
      limit,
    );
  }
}

/**
 * One bounded purge step: selects the keys first, then deletes them by key, so the DELETE never scans
 * or locks more than one batch (MySQL has no DELETE ... LIMIT with a subquery on the same table).
 */
async function deleteBatch(
  manager: EntityManager,
  table: string,
  key: string,
  where: string,
  params: unknown[],
  limit: number,
): Promise<number> {
  const rows = await manager.query<Record<string, unknown>[]>(
    `SELECT ${key} AS k FROM ${table} WHERE ${where} LIMIT ?`,
    [...params, limit],
  );
  if (rows.length === 0) return 0;
  await manager.query(
    `DELETE FROM ${table} WHERE ${key} IN (${rows.map(() => '?').join(', ')})`,
    rows.map((row) => row.k),
  );
  return rows.length;
}

@Injectable()
export class InvitationsRepository {
  constructor(private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(InvitationEntity);
  }

  insert(manager: EntityManager, row: Omit<InvitationEntity, 'id' | 'endedAt'>): Promise<InvitationEntity> {
    return this.repo(manager).save(this.repo(manager).create({ ...row, endedAt: null }));
  }

  /** A newer invitation replaces every open one of the same invitee. */
  async endOpenOf(manager: EntityManager, inviteeId: number, now: Date): Promise<void> {
    await this.repo(manager).update({ inviteeId, endedAt: IsNull() }, { endedAt: now });
  }

  findByKeyHash(keyHash: string, manager?: EntityManager): Promise<InvitationEntity | null> {
    return this.repo(manager).findOne({ where: { keyHash } });
  }

  findById(id: number, manager?: EntityManager): Promise<InvitationEntity | null> {
    return this.repo(manager).findOne({ where: { id } });
  }

  /** Deletes up to `limit` invitations that expired, were used or were replaced; returns how many went. */
  deleteDeadBatch(manager: EntityManager, now: Date, limit: number): Promise<number> {
    return deleteBatch(
      manager,
      'invitations',
      'id',
      'ended_at IS NOT NULL OR expires_at < ?',
      [datetimeParameter(this.dataSource, now)],
      limit,
    );
  }

  /** Ends an invitation once: of two parallel activations only one gets true. */
  async end(manager: EntityManager, id: number, now: Date): Promise<boolean> {
    const result = await this.repo(manager).update(
      { id, endedAt: IsNull(), expiresAt: MoreThan(now) },
      { endedAt: now },
    );
    return (result.affected ?? 0) === 1;
  }
}

@Injectable()
export class CaptchasRepository {
  constructor(private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(CaptchaEntity);
  }

  async insert(manager: EntityManager, row: CaptchaEntity): Promise<void> {
    await this.repo(manager).insert(row);
  }

  find(key: string): Promise<CaptchaEntity | null> {
    return this.repo().findOne({ where: { key } });
  }

  /** Deletes up to `limit` challenges that expired before `now`; returns how many went. */
  deleteExpiredBatch(manager: EntityManager, now: Date, limit: number): Promise<number> {
    return deleteBatch(
      manager,
      'captchas',
      'captcha_key',
      'expires_at < ?',
      [datetimeParameter(this.dataSource, now)],
      limit,
    );
  }

  /** Deletes the challenge; true for the one caller that deleted it (each captcha is checked once). */
  async take(manager: EntityManager, key: string): Promise<boolean> {
    const result = await this.repo(manager).delete({ key });
    return (result.affected ?? 0) === 1;
  }
}
