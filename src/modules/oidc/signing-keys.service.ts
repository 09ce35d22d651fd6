import { generateKeyPairSync } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { type EntityManager, IsNull } from 'typeorm';
import { MasterKey } from '../../common/crypto/master-key';
import { SecretBox } from '../../common/crypto/secret-box';
import { ChangeStamps } from '../../common/database/change-stamps';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { Clock } from '../../common/time/clock';
import { AppConfig } from '../../config/app-config';
import { SigningKeyEntity } from './entities/signing-key.entity';

export const SIGNING_ALG = 'ES256';

/** The provider's key set: private JWKs, the signing key first, then retired keys still publishable. */
export interface KeySet {
  version: number;
  keys: JWK[];
}

/**
 * ES256 signing keys, generated on first start and by `rotate-signing-key`, stored sealed under the
 * master key. A retired key stays in the JWKS (and verifies) until the longest-lived token it could
 * have signed has expired; then rotation deletes it. Every change bumps the `oidc_keys` stamp so each
 * replica reloads its key set on its next OAuth request.
 */
@Injectable()
export class SigningKeysService {
  private readonly box: SecretBox;

  constructor(
    private readonly tx: TransactionRunner,
    private readonly stamps: ChangeStamps,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    masterKey: MasterKey,
  ) {
    this.box = new SecretBox(masterKey.value, 'oidc-signing-keys');
  }

  /** How long a retired key must stay published: every JWT it signed has expired by then. */
  get retentionMs(): number {
    const { accessTokenTtlSeconds, idTokenTtlSeconds } = this.config.oidc;
    // The provider's clock tolerance (15 s) on top of the longest JWT lifetime.
    return (Math.max(accessTokenTtlSeconds, idTokenTtlSeconds) + 15) * 1000;
  }

  /** First start: a key when there is none to sign with. */
  async ensureSigningKey(): Promise<void> {
    await this.tx.run(async (manager) => {
      const active = await manager.getRepository(SigningKeyEntity).count({ where: { retiredAt: IsNull() } });
      if (active === 0) await this.insertKey(manager);
    });
  }

  /** A new signing key; the current one retires, keys retired long enough ago are deleted. */
  async rotate(): Promise<{ kid: string; retired: string[]; deleted: string[] }> {
    return this.tx.run(async (manager) => {
      const repo = manager.getRepository(SigningKeyEntity);
      const now = this.clock.now();
      const all = await repo.find({ order: { id: 'ASC' } });
      const retired = all.filter((k) => k.retiredAt === null);
      const expired = all.filter(
        (k) => k.retiredAt !== null && k.retiredAt.getTime() + this.retentionMs <= now.getTime(),
      );
      if (retired.length > 0)
        await repo.update(
          retired.map((k) => k.id),
          { retiredAt: now },
        );
      if (expired.length > 0) await repo.delete(expired.map((k) => k.id));
      const kid = await this.insertKey(manager);
      return { kid, retired: retired.map((k) => k.kid), deleted: expired.map((k) => k.kid) };
    });
  }

  /** The key set at the current stamp: the newest active key signs; retired ones only verify. */
  async load(): Promise<KeySet> {
    return this.tx.run(async (manager) => {
      const version = (await this.stamps.current(['oidc_keys'], manager)).get('oidc_keys') ?? 0;
      const rows = await manager.getRepository(SigningKeyEntity).find({ order: { id: 'DESC' } });
      const now = this.clock.now().getTime();
      const usable = rows.filter(
        (k) => k.retiredAt === null || k.retiredAt.getTime() + this.retentionMs > now,
      );
      const ordered = [
        ...usable.filter((k) => k.retiredAt === null),
        ...usable.filter((k) => k.retiredAt !== null),
      ];
      return { version, keys: ordered.map((k) => this.unseal(k)) };
    });
  }

  private unseal(row: SigningKeyEntity): JWK {
    try {
      return JSON.parse(this.box.open(row.sealedJwk)) as JWK;
    } catch {
      throw new Error(
        `Signing key ${row.kid} cannot be decrypted: this process has a different SECRET_KEY ` +
          '(or SECRET_KEY_FILE) from the one that created it. Every replica needs the same key.',
      );
    }
  }

  private async insertKey(manager: EntityManager): Promise<string> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });
    const full: JWK = { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' };
    await manager
      .getRepository(SigningKeyEntity)
      .insert({ kid, alg: SIGNING_ALG, sealedJwk: this.box.seal(JSON.stringify(full)), retiredAt: null });
    await this.stamps.bump(manager, 'oidc_keys');
    return kid;
  }
}
