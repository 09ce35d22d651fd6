import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export const SMS_PURPOSES = [
  'generic',
  'register',
  'login',
  'reset_password',
  'activate_user',
  'update_mobile',
] as const;
export type SmsPurpose = (typeof SMS_PURPOSES)[number];
export const EMAIL_PURPOSES = ['register', 'reset_password', 'activate_user', 'update_email'] as const;
export type EmailPurpose = (typeof EMAIL_PURPOSES)[number];

export const CODE_TTL_MS = 5 * 60 * 1000;
export const SMS_TOKEN_TTL_MS = 20 * 60 * 1000;
export const EMAIL_TOKEN_TTL_MS = 24 * 3600 * 1000;
export const MAX_CODE_ATTEMPTS = 5;
export const RESEND_COOLDOWN_MS = 60 * 1000;
export const HOUR_MS = 3600 * 1000;

export const MOBILE_PATTERN = /^(1\d{10}|\+\d{1,4} \d{4,15})$/;
export const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;

/** Six random digits (CSPRNG). */
export function newSmsCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A 24-character alphanumeric sms_token (contract), ~143 bits; rejection sampling keeps it uniform. */
export function newSmsToken(): string {
  let token = '';
  while (token.length < 24) {
    for (const byte of randomBytes(32)) {
      if (byte < 248 && token.length < 24) token += ALNUM[byte % 62];
    }
  }
  return token;
}

/** A 32-hex email_token (contract: a uuid hex), 128 bits. */
export function newEmailToken(): string {
  return randomBytes(16).toString('hex');
}

/** The keyed hash under which a token is stored and found (a stolen table reveals no usable token). */
export function tokenHash(key: Buffer, token: string): string {
  return createHmac('sha256', key).update(`token:${token}`).digest('hex');
}

/**
 * A code is only 6 digits, so its stored form is salted and keyed: 16 hex of salt, then 48 hex of
 * HMAC(salt, code). The salt also keeps two equal codes from colliding in the unique index.
 */
export function codeHash(key: Buffer, code: string, salt = randomBytes(8).toString('hex')): string {
  return salt + createHmac('sha256', key).update(`code:${salt}:${code}`).digest('hex').slice(0, 48);
}

export function codeMatches(key: Buffer, stored: string, code: string): boolean {
  if (!/^\d{6}$/.test(code)) return false;
  const expected = Buffer.from(codeHash(key, code, stored.slice(0, 16)));
  const actual = Buffer.from(stored);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Addresses are compared in one spelling: mobiles as given (validated), e-mail lowercased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
