import { isBackchannelLogoutUri } from './app-input.dto';

describe('isBackchannelLogoutUri', () => {
  it.each([
    '',
    'https://rp.example/logout',
    'https://rp.example:8443/a/b?tenant=1',
    'http://localhost/logout',
    'http://127.0.0.1:9000/logout',
    'http://[::1]:9000/logout',
  ])('accepts %p', (uri) => {
    expect(isBackchannelLogoutUri(uri)).toBe(true);
  });

  it.each([
    'http://rp.example/logout',
    'http://127.0.0.1.rp.example/logout',
    'http://localhost.rp.example/logout',
    'https://rp.example/logout#x',
    'https://rp.example/logout#',
    'https://rp.example/a https://rp.example/b',
    '//rp.example/logout',
    '/logout',
    'javascript:alert(1)',
    'ftp://rp.example/logout',
    42,
    null,
  ])('refuses %p', (uri) => {
    expect(isBackchannelLogoutUri(uri)).toBe(false);
  });
});
