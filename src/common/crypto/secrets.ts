import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 bits from the OS CSPRNG, hex encoded (64 characters). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

/** High-entropy secrets (tokens, codes) are stored as their SHA-256; a slow hash adds nothing there. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
