/**
 * A cookie's name for this connection: over TLS with the `__Host-` prefix, which browsers accept only
 * with Secure, Path=/ and no Domain, so neither plain HTTP nor a sibling subdomain can set or shadow it;
 * the plain name over HTTP (development, tests).
 */
export function prefixedCookieName(base: string, secure: boolean): string {
  return secure ? `__Host-${base}` : base;
}
