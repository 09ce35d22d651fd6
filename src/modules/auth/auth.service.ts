import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { sha256Hex } from '../../common/crypto/secrets';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { CommonErrors, DomainError } from '../../common/errors/domain-error';
import { Metrics } from '../../common/metrics/metrics.service';
import type { AdminScope } from '../../common/guards/admin-scope';
import type { Principal, Role } from '../../common/guards/principal';
import { AdminScopeLink } from '../accounts/admin-scope.link';
import { UserLifecycleHooks } from '../accounts/user-lifecycle.hooks';
import { AuditService } from '../audit/audit.service';
import { type PermCheckRequest, UserPermsLink } from '../accounts/user-perms.link';
import { UsersService } from '../accounts/users.service';
import type { UserEntity } from '../accounts/entities/user.entity';
import { AuthErrors } from './auth.errors';
import type { LoginDto, UserWithPermDto, UserWithPermWithTokenDto } from './dto/login.dto';
import { LoginExtensions } from './login-extensions';
import { LoginThrottleService } from './login-throttle.service';
import { RATE_LIMITER, type RateLimiter } from './rate-limit/ip-rate-limiter';
import { TokensService } from './tokens.service';

export interface ClientInfo {
  ip: string;
  userAgent: string;
}

/** A successful sign-in: its user and the new session's key (shown once) and end. */
export interface SignedIn {
  user: UserEntity;
  key: string;
  expiresAt: Date;
}

type Identifier = { kind: 'username' | 'private_email' | 'mobile'; value: string };

/** Password login, sessions and the user-with-permissions view of a principal. */
@Injectable()
export class AuthService implements OnModuleInit {
  constructor(
    private readonly users: UsersService,
    private readonly tokens: TokensService,
    private readonly throttle: LoginThrottleService,
    private readonly hooks: UserLifecycleHooks,
    @Inject(RATE_LIMITER) private readonly ipLimiter: RateLimiter,
    private readonly config: AppConfig,
    private readonly tx: TransactionRunner,
    private readonly perms: UserPermsLink,
    private readonly scopes: AdminScopeLink,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
    private readonly extensions: LoginExtensions,
  ) {}

  onModuleInit(): void {
    this.hooks.onRemoved((manager, userId) => this.throttle.clearWithin(manager, accountKey(userId)));
  }

  /** The API's login: a sign-in, answered with the user, its permissions and the session key. */
  async login(
    dto: LoginDto,
    client: ClientInfo,
  ): Promise<{ body: UserWithPermWithTokenDto; expiresAt: Date }> {
    const signedIn = await this.signIn(dto, client);
    return {
      body: { ...(await this.userWithPerm(signedIn.user)), token: signedIn.key },
      expiresAt: signedIn.expiresAt,
    };
  }

  /**
   * A password or SMS-token sign-in that opens an Arbor session: the user and the session's key. The
   * hosted pages stop here; the API's login also answers with the user's permissions.
   */
  async signIn(dto: LoginDto, client: ClientInfo): Promise<SignedIn> {
    if (dto.sms_token !== undefined) return this.signInWithSmsToken(dto, client);
    const { user, subjectKey } = await this.checkPassword(dto, client);
    // Releasing the attempt, opening the session and noting activity are one unit of work.
    const session = await this.tx.run(async (manager) => {
      if (!(await this.admitWithin(manager, user, subjectKey))) return null;
      return this.tokens.issueWithin(manager, user.id, client);
    });
    if (!session) {
      this.metrics.login('disabled');
      throw AuthErrors.accountDisabled();
    }
    this.metrics.login('success');
    return { user, ...session };
  }

  /**
   * The same credential check as login (per-IP limit, throttle, lockout, audit), without opening an
   * Arbor session: for the OAuth password grant, whose tokens the provider issues.
   */
  async verifyCredentials(dto: LoginDto, client: ClientInfo): Promise<UserEntity> {
    const { user, subjectKey } = await this.checkPassword(dto, client);
    const admitted = await this.tx.run((manager) => this.admitWithin(manager, user, subjectKey));
    if (!admitted) {
      this.metrics.login('disabled');
      throw AuthErrors.accountDisabled();
    }
    this.metrics.login('success');
    return user;
  }

  /**
   * A password proven again outside a login: changing it with the old one, or changing a contact
   * address. It counts against the same per-IP limit, throttle and lockout as a login (a failure is
   * audited and counted as one), so these forms are no way around them. A right password clears the
   * failures as a login does, without opening a session. No captcha: these forms carry none, and the
   * lockout still bounds the guesses. Null for a wrong password or an unknown account, alike.
   */
  async confirmPassword(username: string, password: string, client: ClientInfo): Promise<UserEntity | null> {
    const checked = await this.countedPasswordCheck({ username, password }, client, false);
    if (!checked) return null;
    await this.tx.run((manager) => this.throttle.succeededWithin(manager, checked.subjectKey));
    return checked.user;
  }

  /**
   * The browser session behind a `spauthn` key: its token id and live, active user; null when none.
   * `alreadyRead` is a user row this request read moments ago, used when the token turns out to be its.
   */
  async session(
    key: string,
    alreadyRead?: UserEntity,
  ): Promise<{ tokenId: number; user: UserEntity } | null> {
    try {
      const token = await this.tokens.authenticate(key);
      const user =
        alreadyRead?.id === token.userId ? alreadyRead : await this.users.findLiveForSession(token.userId);
      return user?.isActive ? { tokenId: token.id, user } : null;
    } catch (error) {
      if (error instanceof DomainError) return null;
      throw error;
    }
  }

  /** Signs a browser session out (hosted pages, single sign-out); an unknown key is already out. */
  async endSession(key: string): Promise<void> {
    const session = await this.session(key);
    if (!session) return;
    await this.logout({
      userId: session.user.id,
      username: session.user.username,
      tokenId: session.tokenId,
      roles: [],
    });
  }

  /** Per-IP limit, throttle reservation and the password itself; failures counted and audited. */
  private async checkPassword(
    dto: LoginDto,
    client: ClientInfo,
  ): Promise<{ user: UserEntity; subjectKey: string }> {
    const checked = await this.countedPasswordCheck(dto, client, true);
    if (!checked) throw AuthErrors.badCredentials();
    return checked;
  }

  /**
   * The password check every form shares: the per-IP limit, the captcha when `challenge` and the
   * failures call for it, the throttle and lockout, and a failure counted and audited. Null when wrong.
   */
  private async countedPasswordCheck(
    dto: LoginDto,
    client: ClientInfo,
    challenge: boolean,
  ): Promise<{ user: UserEntity; subjectKey: string } | null> {
    const identifier = pickIdentifier(dto);
    if (!identifier || !dto.password) throw AuthErrors.missingCredentials();

    const { ipLimit, ipWindowSeconds } = this.config.login;
    const ipHit = await this.ipLimiter.hit(`login:${client.ip}`, ipLimit, ipWindowSeconds * 1000);
    if (!ipHit.allowed) {
      this.metrics.login('throttled');
      throw AuthErrors.throttled(Math.max(1, Math.ceil(ipHit.retryAfterMs / 1000)));
    }

    const { user, subjectKey } = await this.subjectOf(identifier);
    if (challenge) await this.extensions.check(dto, () => this.throttle.failuresOf(subjectKey));
    const ticket = await this.throttle.reserve(subjectKey);
    if (!ticket.allowed) {
      this.metrics.login(ticket.locked ? 'locked' : 'throttled');
      throw ticket.locked
        ? AuthErrors.locked(ticket.retryAfterSeconds)
        : AuthErrors.throttled(ticket.retryAfterSeconds);
    }

    const valid = await this.users.verifyPassword(user, dto.password);
    if (!valid || !user) {
      await this.throttle.failed(subjectKey, (manager, lockedNow) =>
        this.recordFailure(manager, user, identifier, lockedNow),
      );
      this.metrics.login('failure');
      return null;
    }
    return { user, subjectKey };
  }

  /**
   * Whether the next password login with this identifier must carry the captcha (the hosted login page
   * shows it then). Unknown identifiers answer as accounts do.
   */
  async challengeRequired(dto: LoginDto): Promise<boolean> {
    const identifier = pickIdentifier(dto);
    if (!identifier) return false;
    const { subjectKey } = await this.subjectOf(identifier);
    return this.extensions.challengeRequired(() => this.throttle.failuresOf(subjectKey));
  }

  /** The account behind an identifier and the key its failures count under. */
  private async subjectOf(identifier: Identifier): Promise<{ user: UserEntity | null; subjectKey: string }> {
    const user = await this.users.findLoginCandidate(identifier.kind, identifier.value);
    // Unknown identifiers are throttled like accounts, so lockouts do not reveal which accounts exist.
    const subjectKey = user
      ? accountKey(user.id)
      : `i:${sha256Hex(`${identifier.kind}:${identifier.value}`)}`;
    return { user, subjectKey };
  }

  /** Inside the sign-in transaction: releases the attempt; false (audited) for a disabled account. */
  private async admitWithin(manager: EntityManager, user: UserEntity, subjectKey: string): Promise<boolean> {
    await this.throttle.succeededWithin(manager, subjectKey);
    if (!user.isActive) {
      await this.audit.record(manager, {
        subject: 'ucenter_login_failed',
        summary: `${user.username} 登录失败: 账号已停用`,
        targetUserId: user.id,
        actor: null,
      });
      return false;
    }
    await this.noteSignInWithin(manager, user);
    return true;
  }

  /**
   * Signs in a user whom an outside identity provider vouched for (DingTalk login): the same session,
   * activity note, audit entry and answer as a password login, without a password.
   */
  async signInVerified(
    user: UserEntity,
    client: ClientInfo,
    via: string,
  ): Promise<{ body: UserWithPermWithTokenDto; expiresAt: Date }> {
    if (!user.isActive) {
      this.metrics.login('disabled');
      throw AuthErrors.accountDisabled();
    }
    const session = await this.tx.run(async (manager) => {
      const issued = await this.tokens.issueWithin(manager, user.id, client);
      await this.noteSignInWithin(manager, user, via);
      return issued;
    });
    this.metrics.login('success');
    return {
      body: { ...(await this.userWithPerm(user)), token: session.key },
      expiresAt: session.expiresAt,
    };
  }

  /** `{mobile, sms_token}` (login purpose): the token is used up in the transaction that opens the session. */
  private async signInWithSmsToken(dto: LoginDto, client: ClientInfo): Promise<SignedIn> {
    const verify = this.extensions.smsTokenVerifier();
    if (!dto.mobile || !dto.sms_token || !verify) throw AuthErrors.missingCredentials();
    const { ipLimit, ipWindowSeconds } = this.config.login;
    const ipHit = await this.ipLimiter.hit(`login:${client.ip}`, ipLimit, ipWindowSeconds * 1000);
    if (!ipHit.allowed) throw AuthErrors.throttled(Math.max(1, Math.ceil(ipHit.retryAfterMs / 1000)));
    const { mobile, sms_token: smsToken } = dto;
    const opened = await this.tx.run(async (manager) => {
      const user = await this.users.requireLiveByIdWithin(manager, await verify(manager, mobile, smsToken));
      if (!user.isActive) throw AuthErrors.accountDisabled();
      return { user, session: await this.openSessionWithin(manager, user, client) };
    });
    this.metrics.login('success');
    return { user: opened.user, ...opened.session };
  }

  /**
   * Opens a session for a user another room has just proven (registration, SMS login, invitation),
   * inside that room's transaction: token, activity and the `ucenter_login` entry commit together.
   */
  async openSessionWithin(
    manager: EntityManager,
    user: UserEntity,
    client: ClientInfo,
  ): Promise<{ key: string; expiresAt: Date }> {
    const issued = await this.tokens.issueWithin(manager, user.id, client);
    await this.noteSignInWithin(manager, user);
    return issued;
  }

  /** A successful sign-in's activity note and `ucenter_login` entry, in the session's transaction. */
  private async noteSignInWithin(manager: EntityManager, user: UserEntity, via?: string): Promise<void> {
    await this.users.recordActivityWithin(manager, user);
    await this.audit.record(manager, {
      subject: 'ucenter_login',
      summary: via === undefined ? `${user.username} 登录` : `${user.username} 登录 (${via})`,
      targetUserId: user.id,
      actor: { userId: user.id, username: user.username, name: user.name },
    });
  }

  /** The UserWithPerm answer for a user (no token). */
  userWithPermFor(user: UserEntity): Promise<UserWithPermDto> {
    return this.userWithPerm(user);
  }

  async logout(principal: Principal): Promise<void> {
    await this.tx.run(async (manager) => {
      await this.tokens.revokeWithin(manager, principal.tokenId);
      await this.hooks.endSession(manager, principal.userId, principal.tokenId);
      await this.audit.record(manager, {
        subject: 'ucenter_logout',
        summary: `${principal.username} 退出登录`,
        targetUserId: principal.userId,
      });
    });
  }

  /** A user's open sessions (one per sign-in and device), for the profile page. */
  sessionsOf(userId: number) {
    return this.tokens.sessionsOf(userId);
  }

  /** Signs out one of the user's own sessions (another device), audited as a sign-out; false when not theirs. */
  async endOwnSession(user: { id: number; username: string }, tokenId: number): Promise<boolean> {
    return this.tx.run(async (manager) => {
      if (!(await this.tokens.revokeOwnWithin(manager, user.id, tokenId))) return false;
      await this.hooks.endSession(manager, user.id, tokenId);
      await this.audit.record(manager, {
        subject: 'ucenter_logout',
        summary: `${user.username} 退出其他设备的登录`,
        targetUserId: user.id,
      });
      return true;
    });
  }

  /**
   * `auth/token/`: the token's user with its permissions (within an app when one is named). When a
   * `perm_uid` is asked for and not held, the same body comes back with 403; admins hold everything.
   */
  async currentUser(principal: Principal, request: PermCheckRequest = {}): Promise<UserWithPermDto> {
    // The guard read this row moments ago in the same request; reading it again would only cost time.
    const user = this.tokens.userOf(principal) ?? (await this.users.findLiveById(principal.userId));
    if (!user) throw AuthErrors.inactiveUser();
    const { body, granted } = await this.userWithPermChecked(user, request);
    if (!granted) throw AuthErrors.permissionDenied(body);
    return body;
  }

  /** Sub-admins unlock the accounts they manage; any other reads as not found. */
  async unlock(username: string, scope: AdminScope): Promise<void> {
    const user = await this.users.findLoginCandidate('username', username);
    if (!user || !scope.managesUser(user.id)) throw CommonErrors.notFound();
    await this.tx.run(async (manager) => {
      await this.throttle.clearWithin(manager, accountKey(user.id));
      await this.audit.record(manager, {
        subject: 'user_unlock',
        summary: `解锁账号 ${user.username}`,
        targetUserId: user.id,
      });
    });
  }

  /**
   * A failed login's entries: no actor (nobody proved who they are), the account as target when it
   * exists, and a lockout entry when this failure locked it. The HTTP answer stays the same for all.
   */
  private async recordFailure(
    manager: EntityManager,
    user: UserEntity | null,
    identifier: Identifier,
    lockedNow: boolean,
  ): Promise<void> {
    const who = user ? user.username : `${identifier.kind} ${identifier.value.slice(0, 64)}`;
    await this.audit.record(manager, {
      subject: 'ucenter_login_failed',
      summary: `${who} 登录失败`,
      targetUserId: user?.id ?? null,
      actor: null,
    });
    if (lockedNow) {
      await this.audit.record(manager, {
        subject: 'ucenter_lockout',
        summary: `${who} 连续登录失败, 已锁定`,
        targetUserId: user?.id ?? null,
        actor: null,
      });
    }
  }

  private async userWithPerm(user: UserEntity): Promise<UserWithPermDto> {
    return (await this.userWithPermChecked(user, {})).body;
  }

  private async userWithPermChecked(
    user: UserEntity,
    request: PermCheckRequest,
  ): Promise<{ body: UserWithPermDto; granted: boolean }> {
    // The permission snapshot already knows the user's memberships, so no membership query is needed.
    const subject = { id: user.id, isAdmin: user.isAdmin };
    const [check, standing] = await Promise.all([
      this.perms.view.check(subject, request),
      this.scopes.view.rolesOf(subject),
    ]);
    const full = this.users.toSignInUserResponse(user, check.externUser);
    const roles: Role[] = user.isAdmin ? ['admin'] : standing.isManager ? ['manager'] : [];
    const body: UserWithPermDto = {
      user_id: full.user_id,
      username: full.username,
      name: full.name,
      email: full.email,
      mobile: full.mobile,
      employee_number: full.employee_number,
      gender: full.gender,
      avatar: full.avatar,
      private_email: full.private_email,
      position: full.position,
      is_settled: full.is_settled,
      is_manager: full.is_manager,
      is_admin: full.is_admin,
      is_extern_user: full.is_extern_user,
      origin_verbose: full.origin_verbose,
      require_reset_password: full.require_reset_password,
      has_password: full.has_password,
      perms: check.perms,
      roles,
      powers: standing.powers,
    };
    return { body, granted: check.granted };
  }
}

function accountKey(userId: number): string {
  return `u:${userId}`;
}

function pickIdentifier(dto: LoginDto): Identifier | null {
  if (dto.username) return { kind: 'username', value: dto.username.toLowerCase() };
  if (dto.private_email) return { kind: 'private_email', value: dto.private_email };
  if (dto.mobile) return { kind: 'mobile', value: dto.mobile };
  return null;
}
