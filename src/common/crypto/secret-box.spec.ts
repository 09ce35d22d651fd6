import { derivedKey, SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox('m'.repeat(32), 'purpose-a');

  it('opens what it sealed, with a fresh IV each time', () => {
    const a = box.seal('{"d":"private"}');
    const b = box.seal('{"d":"private"}');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\./);
    expect(a).not.toContain('private');
    expect(box.open(a)).toBe('{"d":"private"}');
  });

  it('refuses another master key, another purpose and any alteration', () => {
    const sealed = box.seal('secret');
    expect(() => new SecretBox('n'.repeat(32), 'purpose-a').open(sealed)).toThrow();
    expect(() => new SecretBox('m'.repeat(32), 'purpose-b').open(sealed)).toThrow();
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3], 'base64url');
    body[0] ^= 1;
    expect(() => box.open([...parts.slice(0, 3), body.toString('base64url')].join('.'))).toThrow();
    expect(() => box.open('v2.x.y.z')).toThrow('not a sealed secret');
  });

  it('derives distinct keys per purpose', () => {
    expect(derivedKey('m'.repeat(32), 'a').equals(derivedKey('m'.repeat(32), 'b'))).toBe(false);
    expect(derivedKey('m'.repeat(32), 'a')).toHaveLength(32);
  });
});
