import { createHmac } from 'node:crypto';
import { CookieSigner } from './cookie-signer';

/** What Keygrip (koa's cookies) writes: HMAC-SHA1 in base64 with `/+` made `_-` and `=` dropped. */
function keygripSignature(data: string, key: string): string {
  return createHmac('sha1', key)
    .update(data)
    .digest('base64')
    .replace(/\//g, '_')
    .replace(/\+/g, '-')
    .replace(/=/g, '');
}

describe('CookieSigner', () => {
  const data = '_session=3nZbQ0pYk1s8v2Xo';

  it('signs as Keygrip does, so cookies signed before still verify', () => {
    const signer = new CookieSigner(['first-key']);
    expect(signer.sign(data)).toBe(keygripSignature(data, 'first-key'));
    expect(signer.index(data, keygripSignature(data, 'first-key'))).toBe(0);
  });

  it('signs with the first key and verifies with any, telling which', () => {
    const signer = new CookieSigner(['new-key', 'old-key']);
    expect(signer.sign(data)).toBe(keygripSignature(data, 'new-key'));
    expect(signer.index(data, keygripSignature(data, 'old-key'))).toBe(1);
    expect(signer.verify(data, keygripSignature(data, 'old-key'))).toBe(true);
  });

  it('refuses other data, other keys, altered and non-canonical signatures', () => {
    const signer = new CookieSigner(['first-key']);
    const good = signer.sign(data);
    expect(signer.index(`${data}x`, good)).toBe(-1);
    expect(signer.index(data, keygripSignature(data, 'another-key'))).toBe(-1);
    expect(signer.index(data, `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`)).toBe(-1);
    expect(signer.index(data, `${good}=`)).toBe(-1);
    expect(signer.index(data, '')).toBe(-1);
    expect(signer.verify(data, good.slice(1))).toBe(false);
  });

  it('needs a key', () => {
    expect(() => new CookieSigner([])).toThrow();
  });
});
