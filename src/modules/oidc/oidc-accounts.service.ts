import { Injectable } from '@nestjs/common';
import type { Account, AccountClaims } from 'oidc-provider';
import { UsersService } from '../accounts/users.service';
import type { UserEntity } from '../accounts/entities/user.entity';
import { nodeUidOf } from '../org/node-uid';
import { accessPermUid } from '../permissions/apps.service';
import { PermChecksService } from '../permissions/perm-checks.service';
import { PermissionResolver } from '../permissions/permission-resolver.service';
import { StorageService } from '../storage/storage.service';
import { AppConfig } from '../../config/app-config';

/** Claim names released per scope (OIDC Core §5.4 plus Arbor's `groups` and `perms`). */
export const CLAIMS_BY_SCOPE = {
  openid: ['sub'],
  profile: ['name', 'preferred_username', 'picture', 'updated_at'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  groups: ['groups'],
  perms: ['perms'],
} as const;

/**
 * Users as the provider sees them. `sub` is the user's numeric id as a string: stable for the account's
 * life and the same in the id_token, userinfo and introspection (D16). Access to an app is decided by
 * the permission engine at the moment of asking.
 */
@Injectable()
export class OidcAccountsService {
  constructor(
    private readonly users: UsersService,
    private readonly checks: PermChecksService,
    private readonly resolver: PermissionResolver,
    private readonly storage: StorageService,
    private readonly config: AppConfig,
  ) {}

  /** The user each Account was made from (see account), for checks later in the same request. */
  private readonly usersByAccount = new WeakMap<Account, UserEntity>();

  /** A live, active user for a `sub`, or null. */
  async findUser(sub: string): Promise<UserEntity | null> {
    if (!/^[1-9]\d{0,15}$/.test(sub)) return null;
    // The prepared lookup authenticated requests use: the same row as findLiveById, without a query build.
    const user = await this.users.findLiveForSession(Number(sub));
    return user?.isActive ? user : null;
  }

  /** The user row behind an Account this service made, read in the request that made it. */
  userBehind(account: Account): UserEntity | undefined {
    return this.usersByAccount.get(account);
  }

  /** Whether the user may use the app now: `app_<uid>_access` (admins hold every permission). */
  async hasAccess(user: { id: number; isAdmin: boolean }, appUid: string): Promise<boolean> {
    const result = await this.checks.check(user, { permUid: accessPermUid(appUid) });
    return result.granted;
  }

  account(user: UserEntity, appUid: string | undefined): Account {
    const account: Account = {
      accountId: String(user.id),
      claims: async (_use, scope) => this.claims(user, new Set(scope.split(' ')), appUid),
    };
    this.usersByAccount.set(account, user);
    return account;
  }

  async claims(user: UserEntity, scopes: Set<string>, appUid: string | undefined): Promise<AccountClaims> {
    const claims: AccountClaims = { sub: String(user.id) };
    if (scopes.has('profile')) {
      claims.name = user.name || user.username;
      claims.preferred_username = user.username;
      // OIDC wants a URL; the profile holds an uploaded file's name (or a synced https URL).
      const picture = user.avatar ? this.storage.linkTo(user.avatar) : null;
      if (picture) claims.picture = picture.startsWith('/') ? `${this.config.baseUrl}${picture}` : picture;
      claims.updated_at = Math.floor(user.updatedAt.getTime() / 1000);
    }
    if (scopes.has('email')) {
      const email = user.email || user.privateEmail;
      if (email) {
        claims.email = email;
        claims.email_verified = false;
      }
    }
    if (scopes.has('phone') && user.mobile) {
      claims.phone_number = user.mobile;
      claims.phone_number_verified = false;
    }
    if (scopes.has('groups')) {
      const snapshot = await this.resolver.current();
      claims.groups = snapshot.org
        .membershipsOf(user.id)
        .flatMap((m) => {
          const node = snapshot.org.nodes.get(m.nodeId);
          return node ? [nodeUidOf(node)] : [];
        })
        .sort();
    }
    if (scopes.has('perms') && appUid !== undefined) {
      claims.perms = (await this.checks.check({ id: user.id, isAdmin: user.isAdmin }, { appUid })).perms;
    }
    return claims;
  }
}
