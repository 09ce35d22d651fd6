import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../common/crypto/secrets';

/**
 * The provider's cookie signatures, in Keygrip's format (HMAC-SHA1, base64url without padding), so
 * cookies signed before keep verifying. Keygrip compares through tsscmp, two more HMACs (SHA-256 under
 * a fresh random key) per check; every provider request checks two or three signed cookies, and a
 * constant-time compare of the two digests is the same guarantee for one HMAC.
 */
export class CookieSigner {
  private readonly keys: readonly Buffer[];

  /** `keys[0]` signs; every key verifies (rotation). */
  constructor(keys: readonly string[]) {
    if (keys.length === 0) throw new Error('CookieSigner needs at least one key');
    this.keys = keys.map((key) => Buffer.from(key));
  }

  sign(data: string): string {
    return this.digest(data, this.keys[0]);
  }

  verify(data: string, digest: string): boolean {
    return this.index(data, digest) > -1;
  }

  /** Which key made `digest`, or -1. */
  index(data: string, digest: string): number {
    if (typeof digest !== 'string') return -1;
    const presented = Buffer.from(digest);
    for (let i = 0; i < this.keys.length; i++) {
      if (constantTimeEqual(presented, Buffer.from(this.digest(data, this.keys[i])))) return i;
    }
    return -1;
  }

  private digest(data: string, key: Buffer): string {
    return createHmac('sha1', key).update(data).digest('base64url');
  }
}
