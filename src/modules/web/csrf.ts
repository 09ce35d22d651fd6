import { createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../../common/crypto/secrets';

/**
 * Forms carry HMAC(key, browser secret); the browser secret lives in an HttpOnly cookie. A site that
 * can plant cookies still cannot compute a matching field without the server key.
 */
export class CsrfTokens {
  constructor(private readonly key: Buffer) {}

  newSecret(): string {
    return randomBytes(32).toString('base64url');
  }

  tokenFor(secret: string): string {
    return createHmac('sha256', this.key).update(secret).digest('base64url');
  }

  verify(secret: string | undefined, token: unknown): boolean {
    if (!secret || typeof token !== 'string' || token.length === 0) return false;
    return constantTimeEqual(Buffer.from(this.tokenFor(secret)), Buffer.from(token));
  }
}

/** A redirect target inside this site: a path, never another origin (`//x`, `/\x`, schemes). */
export function safeNext(next: unknown, fallback = '/workbench/'): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.length > 2000) return fallback;
  if (next.startsWith('//') || /[\\]/.test(next) || [...next].some((c) => c.charCodeAt(0) < 0x20)) {
    return fallback;
  }
  try {
    const base = new URL('http://arbor.invalid');
    const resolved = new URL(next, base);
    return resolved.origin === base.origin ? resolved.pathname + resolved.search : fallback;
  } catch {
    return fallback;
  }
}
