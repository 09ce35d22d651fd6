import { CsrfTokens, safeNext } from './csrf';

describe('CsrfTokens', () => {
  const tokens = new CsrfTokens(Buffer.alloc(32, 7));

  it('accepts the token made for the secret and nothing else', () => {
    const secret = tokens.newSecret();
    expect(tokens.verify(secret, tokens.tokenFor(secret))).toBe(true);
    expect(tokens.verify(tokens.newSecret(), tokens.tokenFor(secret))).toBe(false);
    expect(tokens.verify(secret, '')).toBe(false);
    expect(tokens.verify(undefined, tokens.tokenFor(secret))).toBe(false);
    expect(tokens.verify(secret, ['x'])).toBe(false);
  });

  it('depends on the server key', () => {
    const other = new CsrfTokens(Buffer.alloc(32, 8));
    const secret = tokens.newSecret();
    expect(other.verify(secret, tokens.tokenFor(secret))).toBe(false);
  });
});

describe('safeNext', () => {
  it.each([
    ['/profile/', '/profile/'],
    ['/interaction/abc/?x=1', '/interaction/abc/?x=1'],
    ['/a/../profile/', '/profile/'],
  ])('keeps the local path %s', (input, expected) => {
    expect(safeNext(input)).toBe(expected);
  });

  it.each([
    'https://evil.example/',
    '//evil.example/',
    '/\\evil.example',
    'javascript:alert(1)',
    '/%0d%0aSet-Cookie:x',
    '\u0000/x',
    'profile',
    42,
  ])('refuses %p', (input) => {
    const result = safeNext(input);
    expect(result === '/workbench/' || result.startsWith('/%0d')).toBe(true);
    expect(result).not.toMatch(/^\/\/|evil/);
  });
});
