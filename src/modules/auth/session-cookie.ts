import type { Request, Response } from 'express';
import { prefixedCookieName } from '../../common/http/cookies';

/** ArkID's browser session cookie, holding the login's token key; `__Host-spauthn` over TLS. */
const SESSION_COOKIE = 'spauthn';

export function sessionCookieName(secure: boolean): string {
  return prefixedCookieName(SESSION_COOKIE, secure);
}

/** The session key a browser presented, under the name its connection calls for; null when none. */
export function sessionKeyOf(req: Request): string | null {
  const value = (req.cookies as Record<string, unknown> | undefined)?.[sessionCookieName(req.secure)];
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** Sets the session cookie of a sign-in; without `expires` it ends with the browser. */
export function setSessionCookie(req: Request, res: Response, key: string, expires?: Date): void {
  res.cookie(sessionCookieName(req.secure), key, {
    httpOnly: true,
    sameSite: 'lax',
    secure: req.secure,
    path: '/',
    ...(expires ? { expires } : {}),
  });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(sessionCookieName(req.secure), {
    httpOnly: true,
    sameSite: 'lax',
    secure: req.secure,
    path: '/',
  });
}
