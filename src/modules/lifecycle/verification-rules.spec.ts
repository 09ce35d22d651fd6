import { randomBytes } from 'node:crypto';
import {
  codeHash,
  codeMatches,
  MOBILE_PATTERN,
  newEmailToken,
  newSmsCode,
  newSmsToken,
  tokenHash,
} from './verification-rules';

const key = randomBytes(32);

describe('verification secrets', () => {
  it('makes 6-digit codes, 24-character alphanumeric sms tokens and 32-hex email tokens', () => {
    const codes = new Set(Array.from({ length: 200 }, () => newSmsCode()));
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    expect(codes.size).toBeGreaterThan(190);
    expect(newSmsToken()).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(newEmailToken()).toMatch(/^[0-9a-f]{32}$/);
    expect(newSmsToken()).not.toBe(newSmsToken());
  });

  it('stores codes salted, so equal codes hash differently, and matches only the right code', () => {
    const a = codeHash(key, '123456');
    const b = codeHash(key, '123456');
    expect(a).toHaveLength(64);
    expect(a).not.toBe(b);
    expect(codeMatches(key, a, '123456')).toBe(true);
    expect(codeMatches(key, a, '123457')).toBe(false);
    expect(codeMatches(key, a, '12345')).toBe(false);
    expect(codeMatches(randomBytes(32), a, '123456')).toBe(false);
  });

  it('hashes tokens under the key: the same token, the same hash; another key, another hash', () => {
    expect(tokenHash(key, 'abc')).toBe(tokenHash(key, 'abc'));
    expect(tokenHash(key, 'abc')).not.toBe(tokenHash(randomBytes(32), 'abc'));
  });

  it('accepts mainland and international mobile spellings only', () => {
    expect(MOBILE_PATTERN.test('13800000000')).toBe(true);
    expect(MOBILE_PATTERN.test('+1 4155550100')).toBe(true);
    expect(MOBILE_PATTERN.test('1380000000')).toBe(false);
    expect(MOBILE_PATTERN.test('+86-13800000000')).toBe(false);
  });
});
