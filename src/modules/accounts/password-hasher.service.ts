import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import * as argon2 from 'argon2';
import { constantTimeEqual } from '../../common/crypto/secrets';

/** OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane. */
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const;

export interface PasswordCheck {
  valid: boolean;
  /** The stored hash uses other parameters or a legacy scheme: store `hash(password)` instead. */
  needsRehash: boolean;
}

/**
 * Hashes with argon2id and verifies argon2 hashes and, for accounts imported from ArkID/LDAP, the legacy
 * `{SSHA}`, `{SMD5}`, `{SHA}` and `{MD5}` schemes, which are upgraded at the next successful login.
 */
@Injectable()
export class PasswordHasher {
  private dummyHash?: Promise<string>;

  hash(password: string): Promise<string> {
    return argon2.hash(password, ARGON2_OPTIONS);
  }

  async verify(storedHash: string | null, password: string): Promise<PasswordCheck> {
    if (!storedHash) {
      await this.dummyVerify(password);
      return { valid: false, needsRehash: false };
    }
    if (storedHash.startsWith('$argon2')) {
      // A malformed stored hash makes argon2 throw; it can never match.
      const valid = await argon2.verify(storedHash, password).catch(() => false);
      return { valid, needsRehash: valid && argon2.needsRehash(storedHash, ARGON2_OPTIONS) };
    }
    // Legacy hashes are cheap to check; spend the argon2 time anyway so timing does not tell them apart.
    const valid = verifyLegacy(storedHash, password);
    await this.dummyVerify(password);
    return { valid, needsRehash: valid };
  }

  /** Spends one argon2 verification, for paths that have no account, so they take as long as real ones. */
  async dummyVerify(password: string): Promise<void> {
    this.dummyHash ??= argon2.hash('arbor-dummy-password-for-timing', ARGON2_OPTIONS);
    try {
      await argon2.verify(await this.dummyHash, password);
    } catch {
      // the outcome is irrelevant; only the time spent matters
    }
  }
}

const LEGACY = /^\{(SSHA|SMD5|SHA|MD5)\}([A-Za-z0-9+/=]+)$/i;

export function verifyLegacy(storedHash: string, password: string): boolean {
  const match = LEGACY.exec(storedHash);
  if (!match) return false;
  const scheme = match[1].toUpperCase();
  const decoded = Buffer.from(match[2], 'base64');
  const algorithm = scheme.endsWith('MD5') ? 'md5' : 'sha1';
  const digestLength = algorithm === 'md5' ? 16 : 20;
  const salted = scheme.startsWith('S');
  if (decoded.length < digestLength || (!salted && decoded.length !== digestLength)) return false;
  const digest = decoded.subarray(0, digestLength);
  const salt = decoded.subarray(digestLength);
  const computed = createHash(algorithm)
    .update(Buffer.concat([Buffer.from(password, 'utf8'), salt]))
    .digest();
  return constantTimeEqual(computed, digest);
}
