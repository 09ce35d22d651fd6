import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 bits from the OS CSPRNG, hex encoded (64 characters). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * High-entropy secrets (tokens, codes) are stored as their SHA-256; a slow hash adds nothing there.
 * One-shot `hash` is a third of `createHash`'s cost, and this runs on every token-bearing request.
 */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex');
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
