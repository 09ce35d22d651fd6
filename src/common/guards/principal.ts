import type { AdminScope } from './admin-scope';

export type Role = 'admin' | 'manager';

/** Who is calling: resolved once per request by the principal guard. */
export interface Principal {
  userId: number;
  username: string;
  /** The display name at sign-in, so audit entries can name the actor without a lookup. */
  name?: string;
  tokenId: number;
  roles: Role[];
  /** Set for an app's OAuth access token (Bearer): the scopes it was granted, which bound what it may do. */
  oauthScopes?: string[];
  /** Resolved by the guard on admin routes only (see AdminAccess). */
  scope?: AdminScope;
}

export function isAdmin(principal: Principal): boolean {
  return principal.roles.includes('admin');
}
