/** Hosts where plain http stays on the machine (RFC 8252 §7.3, §8.3); any other http host must use https. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Why a URI a client registers for Arbor to send a browser or a request to (a redirect URI, a back-channel
 * logout URI) is refused, or null when it is fine (OAuth 2.0 Security BCP §4.1, RFC 8252 §8.3): an absolute
 * https URL, or http on a loopback host; no fragment, wildcard or user information; and spelled so that
 * every URL parser finds the same host (no backslash, no `https:host` without the slashes).
 *
 * Private-use schemes of native apps (RFC 8252 §7.1, `com.example.app:/cb`) are refused as well: the
 * provider serves every client as a web client (oidc-provider's `application_type: 'web'`), which allows
 * only http(s) redirects, so such a client would fail at each authorization. Native apps can use a
 * loopback (§7.3) or a claimed https (§7.2) redirect.
 */
export function clientUriProblem(uri: string): string | null {
  if (/[^\x21-\x7e\u0080-\uffff]|\\/.test(uri)) {
    return 'contains a space, a backslash or a control character';
  }
  const url = URL.parse(uri);
  if (!url) return 'not an absolute URI';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `the ${url.protocol.slice(0, -1)} scheme is not allowed, use https`;
  }
  if (!/^https?:\/\//i.test(uri)) return 'not an absolute URI';
  if (uri.includes('#')) return 'has a fragment';
  if (uri.includes('*')) return 'wildcards are not allowed';
  const authority = uri.slice(uri.indexOf('//') + 2).split(/[/?]/, 1)[0];
  if (authority.includes('@')) return 'user information is not allowed';
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    return 'http is allowed only on localhost, 127.0.0.1 and [::1], use https';
  }
  return null;
}

/** The URIs of a space-separated list, in order. */
export function splitUris(list: string): string[] {
  return list.split(/\s+/).filter(Boolean);
}

/** The first refused URI of a space-separated list, as `<uri>: <reason>`; null when all are fine. */
export function redirectUrisProblem(list: string): string | null {
  for (const uri of splitUris(list)) {
    const problem = clientUriProblem(uri);
    if (problem !== null) return `${uri}: ${problem}`;
  }
  return null;
}

/**
 * OIDC Back-Channel Logout 1.0 §2.2: the logout URI is registered like a redirect URI (one, used exactly
 * as registered); '' removes it.
 */
export function isBackchannelLogoutUri(value: unknown): boolean {
  return value === '' || (typeof value === 'string' && clientUriProblem(value) === null);
}

/** Whether a client's flow hands out tokens at the authorization endpoint: OAuth `implicit`, and every OIDC response type but `code`. */
export function isImplicitFlow(protocol: 'oauth' | 'oidc', flow: string): boolean {
  return protocol === 'oauth' ? flow === 'implicit' : flow !== 'code';
}

/**
 * A client whose flow is implicit gets its tokens in the redirect URL, so oidc-provider serves it only
 * with https redirects not on `localhost`; the first of `list` it would refuse, as `<uri>: <reason>`.
 */
export function implicitRedirectProblem(
  protocol: 'oauth' | 'oidc',
  flow: string,
  list: string,
): string | null {
  if (!isImplicitFlow(protocol, flow)) return null;
  for (const uri of splitUris(list)) {
    const url = URL.parse(uri);
    if (url?.protocol !== 'https:' || url.hostname === 'localhost') {
      return `${uri}: the implicit flow (${flow}) needs https redirect URIs, not on localhost`;
    }
  }
  return null;
}
