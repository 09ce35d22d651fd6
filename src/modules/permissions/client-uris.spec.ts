import {
  clientUriProblem,
  implicitRedirectProblem,
  isBackchannelLogoutUri,
  redirectUrisProblem,
} from './client-uris';

describe('clientUriProblem', () => {
  it.each([
    'https://rp.example/cb',
    'https://rp.example:8443/a/b?tenant=1',
    'https://rp.example',
    'HTTPS://RP.EXAMPLE/cb',
    'http://localhost/cb',
    'http://localhost:9000/cb',
    'http://127.0.0.1:9000/cb',
    'http://[::1]:9000/cb',
    'https://报销.example/cb',
  ])('accepts %p', (uri) => {
    expect(clientUriProblem(uri)).toBeNull();
  });

  it.each([
    ['/cb', 'not an absolute URI'],
    ['//rp.example/cb', 'not an absolute URI'],
    ['rp.example/cb', 'not an absolute URI'],
    ['https:rp.example/cb', 'not an absolute URI'],
    ['https://', 'not an absolute URI'],
    ['http://rp.example/cb', 'http is allowed only on localhost'],
    ['http://127.0.0.1.rp.example/cb', 'http is allowed only on localhost'],
    ['http://localhost.rp.example/cb', 'http is allowed only on localhost'],
    ['http://127.0.0.2/cb', 'http is allowed only on localhost'],
    ['https://rp.example/cb#x', 'has a fragment'],
    ['https://rp.example/cb#', 'has a fragment'],
    ['https://*.example/cb', 'wildcards are not allowed'],
    ['https://user@rp.example/cb', 'user information is not allowed'],
    ['https://user:pw@rp.example/cb', 'user information is not allowed'],
    ['https://@rp.example/cb', 'user information is not allowed'],
    ['http://evil.example@localhost/cb', 'user information is not allowed'],
    ['https://rp.example\\@evil.example/cb', 'a backslash'],
    ['https://rp.example/a b', 'a space'],
    ['https://rp.example/\tcb', 'a control character'],
    ['javascript:alert(1)', 'the javascript scheme is not allowed'],
    ['JavaScript:alert(1)', 'the javascript scheme is not allowed'],
    ['data:text/html,<script>alert(1)</script>', 'the data scheme is not allowed'],
    ['file:///etc/passwd', 'the file scheme is not allowed'],
    ['vbscript:msgbox(1)', 'the vbscript scheme is not allowed'],
    ['blob:https://rp.example/x', 'the blob scheme is not allowed'],
    ['ftp://rp.example/cb', 'the ftp scheme is not allowed'],
    ['com.example.app:/cb', 'the com.example.app scheme is not allowed'],
  ])('refuses %p: %s', (uri, reason) => {
    expect(clientUriProblem(uri)).toContain(reason);
  });
});

describe('redirectUrisProblem', () => {
  it('names the first refused URI of a list', () => {
    expect(redirectUrisProblem('https://a.example/cb  http://localhost/cb')).toBeNull();
    expect(redirectUrisProblem('https://a.example/cb http://b.example/cb javascript:x')).toBe(
      'http://b.example/cb: http is allowed only on localhost, 127.0.0.1 and [::1], use https',
    );
  });
});

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
    'https://user@rp.example/logout',
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

describe('implicitRedirectProblem', () => {
  it.each([
    ['oauth', 'authorization-code', 'http://localhost/cb http://127.0.0.1/cb'],
    ['oauth', 'password', 'http://localhost/cb'],
    ['oidc', 'code', 'http://[::1]/cb'],
    ['oauth', 'implicit', 'https://rp.example/cb https://127.0.0.1/cb'],
    ['oidc', 'id_token token', 'https://rp.example/cb'],
    ['oauth', 'implicit', ''],
  ] as const)('lets %s %s keep %p', (protocol, flow, list) => {
    expect(implicitRedirectProblem(protocol, flow, list)).toBeNull();
  });

  it.each([
    ['oauth', 'implicit', 'https://rp.example/cb http://127.0.0.1/cb', 'http://127.0.0.1/cb'],
    ['oauth', 'implicit', 'https://localhost/cb', 'https://localhost/cb'],
    ['oidc', 'id_token', 'http://[::1]/cb', 'http://[::1]/cb'],
    ['oidc', 'code id_token', 'http://localhost/cb', 'http://localhost/cb'],
  ] as const)('refuses %s %s with %p', (protocol, flow, list, uri) => {
    expect(implicitRedirectProblem(protocol, flow, list)).toBe(
      `${uri}: the implicit flow (${flow}) needs https redirect URIs, not on localhost`,
    );
  });
});
