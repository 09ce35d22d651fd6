import { createHash } from 'node:crypto';
import * as argon2 from 'argon2';
import { PasswordHasher, verifyLegacy } from './password-hasher.service';

const legacy = (
  scheme: 'SSHA' | 'SMD5' | 'SHA' | 'MD5',
  password: string,
  salt = Buffer.alloc(0),
): string => {
  const algorithm = scheme.endsWith('MD5') ? 'md5' : 'sha1';
  const digest = createHash(algorithm)
    .update(Buffer.concat([Buffer.from(password), salt]))
    .digest();
  return `{${scheme}}${Buffer.concat([digest, salt]).toString('base64')}`;
};

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher();

  it('hashes with argon2id and the OWASP parameters', async () => {
    const hash = await hasher.hash('s3cret-pass');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    await expect(hasher.verify(hash, 's3cret-pass')).resolves.toEqual({ valid: true, needsRehash: false });
    await expect(hasher.verify(hash, 'wrong-pass1')).resolves.toEqual({ valid: false, needsRehash: false });
  });

  it('asks for a rehash when the stored parameters are weaker', async () => {
    const weak = await argon2.hash('s3cret-pass', { type: argon2.argon2id, memoryCost: 4096, timeCost: 1 });
    await expect(hasher.verify(weak, 's3cret-pass')).resolves.toEqual({ valid: true, needsRehash: true });
  });

  it('verifies legacy LDAP-style hashes and asks to upgrade them', async () => {
    const salt = Buffer.from('saltsalt');
    await expect(hasher.verify(legacy('SSHA', 'pa55word', salt), 'pa55word')).resolves.toEqual({
      valid: true,
      needsRehash: true,
    });
    expect(verifyLegacy(legacy('SMD5', 'pa55word', salt), 'pa55word')).toBe(true);
    expect(verifyLegacy(legacy('SHA', 'pa55word'), 'pa55word')).toBe(true);
    expect(verifyLegacy(legacy('MD5', 'pa55word'), 'pa55word')).toBe(true);
    expect(verifyLegacy(legacy('SSHA', 'pa55word', salt), 'pa55wore')).toBe(false);
    expect(verifyLegacy('{SSHA}!!!', 'x')).toBe(false);
  });

  it('never accepts an account without a password', async () => {
    await expect(hasher.verify(null, '')).resolves.toEqual({ valid: false, needsRehash: false });
  });
});
