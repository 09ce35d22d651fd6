import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import { TransactionRunner } from '../../common/database/transaction-runner';
import type { Principal } from '../../common/guards/principal';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import type { UserResponseDto } from '../accounts/dto/user-response.dto';
import { type UserEntity, UserOrigin } from '../accounts/entities/user.entity';
import { UsersService } from '../accounts/users.service';
import { AuditService } from '../audit/audit.service';
import { AuthService, type ClientInfo } from '../auth/auth.service';
import type { UserWithPermDto, UserWithPermWithTokenDto } from '../auth/dto/login.dto';
import { LoginExtensions } from '../auth/login-extensions';
import { NotificationsService } from '../notifications/notifications.service';
import { OrgMembershipsService } from '../org/memberships.service';
import { BUILTIN_IDS } from '../org/org-nodes.repository';
import { SettingsService } from '../settings/settings.service';
import { CaptchaService } from './captcha.service';
import type {
  ActivateDto,
  ChangeContactDto,
  InvitationKeyDto,
  RegisterDto,
  ResetPasswordDto,
  TransferAdminDto,
} from './dto/lifecycle-input.dto';
import { InvitationsService } from './invitations.service';
import { LifecycleErrors } from './lifecycle.errors';
import { VerificationService } from './verification.service';
import { normalizeEmail } from './verification-rules';

/**
 * The self-service flows: registration, invitations and activation, password reset and contact
 * changes. Each runs in one transaction with the token it uses up and its audit entry, so a refused
 * or failed request writes nothing (no half-created account).
 */
@Injectable()
export class LifecycleService implements OnModuleInit {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly users: UsersService,
    private readonly auth: AuthService,
    private readonly loginExtensions: LoginExtensions,
    private readonly memberships: OrgMembershipsService,
    private readonly settings: SettingsService,
    private readonly verification: VerificationService,
    private readonly invitations: InvitationsService,
    private readonly captcha: CaptchaService,
    private readonly notifications: NotificationsService,
    private readonly audit: AuditService,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.loginExtensions.useSmsTokenVerifier(async (manager, mobile, smsToken) => {
      const row = await this.verification.consumeSmsToken(manager, 'login', smsToken, { mobile });
      if (row.userId === null) throw LifecycleErrors.invalid('sms_token');
      return row.userId;
    });
    this.loginExtensions.useChallenge({
      required: async (failures) => {
        const { login_failures: after } = await this.settings.section('captcha');
        return after > 0 && (await failures()) >= after;
      },
      verify: (dto) => this.captcha.consume(dto.captcha_key, dto.captcha),
    });
  }

  async register(dto: RegisterDto, client: ClientInfo): Promise<UserWithPermWithTokenDto> {
    const support = await this.settings.accountSupport();
    if (!support.allow_register) throw LifecycleErrors.registrationClosed();
    if (!dto.sms_token && !dto.email_token) throw LifecycleErrors.required('auth_token');
    if (dto.sms_token && !support.support_mobile_register) throw LifecycleErrors.unsupported('mobile');
    if (!dto.sms_token && !support.support_email_register) throw LifecycleErrors.unsupported('email');
    const passwordHash = await this.users.hashChosenPassword(dto.password, dto.username);
    const { user, session } = await this.writing(() =>
      this.tx.run(async (manager) => {
        const proof = dto.sms_token
          ? { mobile: (await this.verification.consumeSmsToken(manager, 'register', dto.sms_token)).address }
          : {
              privateEmail: (await this.verification.consumeEmailToken(manager, 'register', dto.email_token))
                .address,
            };
        const created = await this.users.registerWithin(manager, {
          username: dto.username,
          passwordHash,
          origin: proof.mobile ? UserOrigin.MobileSignup : UserOrigin.EmailSignup,
          ...proof,
        });
        await this.memberships.addMembersWithin(manager, BUILTIN_IDS.extern, [created.id]);
        await this.audit.record(manager, {
          subject: 'ucenter_register',
          summary: `${created.username} 注册 (${proof.mobile ? '手机' : '邮箱'})`,
          targetUserId: created.id,
          actor: { userId: created.id, username: created.username, name: created.name },
        });
        return { user: created, session: await this.auth.openSessionWithin(manager, created, client) };
      }),
    );
    return { ...(await this.auth.userWithPermFor(user)), token: session.key };
  }

  /** The first mode that matches: mobile + sms_token, then email + email_token, then username + old password. */
  async resetPassword(dto: ResetPasswordDto, client: ClientInfo): Promise<Record<string, string>> {
    if (dto.mobile !== undefined || dto.sms_token !== undefined) {
      if (!dto.mobile) throw LifecycleErrors.required('mobile');
      const mobile = dto.mobile;
      const user = await this.users.findLoginCandidate('mobile', mobile);
      if (!user) throw LifecycleErrors.invalid('sms_token');
      const hash = await this.users.hashChosenPassword(dto.new_password, user.username, 'new_password');
      await this.tx.run(async (manager) => {
        await this.verification.consumeSmsToken(manager, 'reset_password', dto.sms_token, {
          mobile,
          userId: user.id,
        });
        await this.setPassword(manager, user, hash, '手机验证');
      });
      return { mobile };
    }
    if (dto.email !== undefined || dto.email_token !== undefined) {
      if (!dto.email) throw LifecycleErrors.required('email');
      const email = normalizeEmail(dto.email);
      const user = await this.users.findLoginCandidate('private_email', email);
      if (!user) throw LifecycleErrors.invalid('email_token');
      const hash = await this.users.hashChosenPassword(dto.new_password, user.username, 'new_password');
      await this.tx.run(async (manager) => {
        const row = await this.verification.consumeEmailToken(manager, 'reset_password', dto.email_token, {
          userId: user.id,
        });
        if (row.address !== email) throw LifecycleErrors.invalid('email_token');
        await this.setPassword(manager, user, hash, '邮箱验证');
      });
      return { email: dto.email };
    }
    if (!dto.username || !dto.old_password) throw LifecycleErrors.invalid('auth');
    const user = await this.confirmPassword(dto.username, dto.old_password, client, 'old_password');
    const hash = await this.users.hashChosenPassword(dto.new_password, user.username, 'new_password');
    await this.tx.run((manager) => this.setPassword(manager, user, hash, '旧密码'));
    return { username: user.username };
  }

  /** PATCH ucenter/contact/: the current password, and a token proving the new address; the old one is told. */
  async changeContact(
    principal: Principal,
    dto: ChangeContactDto,
    client: ClientInfo,
  ): Promise<Record<string, string>> {
    if (!dto.sms_token && !dto.email_token) throw LifecycleErrors.required('sms_token');
    const user = await this.users.findLiveById(principal.userId);
    if (!user) throw LifecycleErrors.invalid('password');
    if (!dto.password) throw LifecycleErrors.required('password');
    await this.confirmPassword(user.username, dto.password, client, 'password');
    const changed = await this.writing(() =>
      this.tx.run(async (manager) => {
        const result: Record<string, string> = {};
        if (dto.sms_token) {
          const row = await this.verification.consumeSmsToken(manager, 'update_mobile', dto.sms_token, {
            userId: user.id,
          });
          await this.users.setContactWithin(manager, user.id, 'mobile', row.address);
          result.mobile = row.address;
        }
        if (dto.email_token) {
          const row = await this.verification.consumeEmailToken(manager, 'update_email', dto.email_token, {
            userId: user.id,
          });
          await this.users.setContactWithin(manager, user.id, 'private_email', row.address);
          result.private_email = row.address;
        }
        await this.audit.record(manager, {
          subject: 'ucenter_contact',
          summary: `${user.username} 修改联系方式: ${Object.keys(result).join(', ')}`,
          targetUserId: user.id,
        });
        return result;
      }),
    );
    await this.tellOldAddress(user, changed);
    return changed;
  }

  /** GET ucenter/profile/invited/?key=: who was invited. */
  async invited(key: unknown): Promise<UserWithPermDto> {
    const { invitee } = await this.invitations.requireOpen(key);
    return this.auth.userWithPermFor(invitee);
  }

  /** PATCH ucenter/profile/invited/: an unsettled invitee proves its mobile or e-mail, sets its password. */
  async activate(dto: ActivateDto): Promise<UserWithPermDto> {
    const { invitation, invitee } = await this.invitations.requireOpen(dto.key);
    if (invitee.lastActiveTime) throw LifecycleErrors.onlyUnsettled();
    if (!dto.sms_token && !dto.email_token) throw LifecycleErrors.required('sms_token');
    const username = dto.username ?? invitee.username;
    const hash = await this.users.hashChosenPassword(dto.password, username);
    await this.writing(() =>
      this.tx.run(async (manager) => {
        if (dto.sms_token) {
          await this.verification.consumeSmsToken(manager, 'activate_user', dto.sms_token, {
            userId: invitee.id,
          });
        } else {
          await this.verification.consumeEmailToken(manager, 'activate_user', dto.email_token, {
            userId: invitee.id,
            invitationId: invitation.id,
          });
        }
        await this.invitations.endWithin(manager, invitation);
        await this.users.setPasswordHashWithin(manager, invitee.id, hash, {
          settle: true,
          username: username === invitee.username ? undefined : username,
        });
        await this.audit.record(manager, {
          subject: 'ucenter_activate',
          summary: `${username} 激活账号`,
          targetUserId: invitee.id,
          actor: { userId: invitee.id, username, name: invitee.name },
        });
      }),
    );
    return this.auth.userWithPermFor(await this.users.requireLiveByUsername(username));
  }

  /**
   * POST auth/invitation_key/: key and the invitee's mobile sign an unsettled invitee in once (the key is
   * used up and the account settles, with a password still to choose); settled users get nothing (D13).
   */
  async signInWithInvitation(dto: InvitationKeyDto, client: ClientInfo): Promise<UserWithPermWithTokenDto> {
    const { invitation, invitee } = await this.invitations.requireOpen(dto.key);
    if (!invitee.mobile || invitee.mobile !== dto.mobile) throw LifecycleErrors.invalid('mobile');
    if (invitee.lastActiveTime) throw LifecycleErrors.invalid('key');
    const session = await this.tx.run(async (manager) => {
      await this.invitations.endWithin(manager, invitation);
      await this.users.setPasswordHashWithin(manager, invitee.id, null, {
        settle: true,
        requireReset: !invitee.passwordHash,
      });
      await this.audit.record(manager, {
        subject: 'ucenter_activate',
        summary: `${invitee.username} 以邀请链接登录`,
        targetUserId: invitee.id,
        actor: { userId: invitee.id, username: invitee.username, name: invitee.name },
      });
      const fresh = await this.users.requireLiveByIdWithin(manager, invitee.id);
      return { user: fresh, issued: await this.auth.openSessionWithin(manager, fresh, client) };
    });
    return { ...(await this.auth.userWithPermFor(session.user)), token: session.issued.key };
  }

  /** GET config/admin/: the superuser asking (no implicit accounts, D15). */
  async admin(principal: Principal): Promise<UserResponseDto> {
    const user = await this.users.findLiveByIdOrNull(principal.userId);
    if (!user) throw LifecycleErrors.notValidAdmin();
    return this.users.toUserResponse(user);
  }

  /** PATCH config/admin/: hands the superuser role from the caller to the holder of the new mobile (D31). */
  async transferAdmin(principal: Principal, dto: TransferAdminDto): Promise<{ new_admin_username: string }> {
    return this.writing(() =>
      this.tx.run(async (manager) => {
        const current = await this.users.requireLiveByIdWithin(manager, principal.userId);
        const old = await this.verification.consumeSmsToken(manager, 'generic', dto.old_admin_sms_token);
        if (!current.isAdmin || !current.mobile || old.address !== current.mobile)
          throw LifecycleErrors.notValidAdmin();
        const fresh = await this.verification.consumeSmsToken(manager, 'generic', dto.new_admin_sms_token);
        const next = await this.users.findLoginCandidate('mobile', fresh.address);
        if (!next || !next.isActive || next.id === current.id) throw LifecycleErrors.notValidAdmin();
        await this.users.setSuperuserWithin(manager, next.id, true);
        await this.users.setSuperuserWithin(manager, current.id, false);
        await this.audit.record(manager, {
          subject: 'config',
          summary: `超级管理员由 ${current.username} 移交给 ${next.username}`,
          targetUserId: next.id,
        });
        return { new_admin_username: next.username };
      }),
    );
  }

  /**
   * The current password, checked as a login checks it (per-IP limit, throttle, lockout); a wrong one,
   * or an unknown account, answers as the ArkID field error on `field`.
   */
  private async confirmPassword(
    username: string,
    password: string,
    client: ClientInfo,
    field: 'old_password' | 'password',
  ): Promise<UserEntity> {
    const user = await this.auth.confirmPassword(username, password, client);
    if (!user) throw LifecycleErrors.invalid(field);
    return user;
  }

  private async setPassword(
    manager: EntityManager,
    user: UserEntity,
    hash: string,
    how: string,
  ): Promise<void> {
    await this.users.setPasswordHashWithin(manager, user.id, hash);
    await this.audit.record(manager, {
      subject: 'ucenter_reset_pwd',
      summary: `${user.username} 重置密码 (${how})`,
      targetUserId: user.id,
      actor: { userId: user.id, username: user.username, name: user.name },
    });
  }

  /**
   * Tells the old addresses that the account's contact details changed (best effort, after commit): an
   * SMS to the old number when the mobile changed (if the notice template is set), and a mail to the
   * recovery address on file as it was before the change.
   */
  private async tellOldAddress(user: UserEntity, changed: Record<string, string>): Promise<void> {
    if (changed.mobile && user.mobile) {
      try {
        await this.notifications.sendContactChangedNotice(user.mobile, user.username);
      } catch (error) {
        this.logger.warn({ err: error, userId: user.id }, 'could not notify the old mobile number');
      }
    }
    const to = user.privateEmail;
    if (!to || !(await this.notifications.mailAvailable())) return;
    const what = Object.keys(changed)
      .map((field) => (field === 'mobile' ? 'mobile number' : 'recovery e-mail address'))
      .join(' and ');
    try {
      await this.notifications.sendMail({
        to,
        subject: 'Your contact details changed',
        text: `The ${what} of your account ${user.username} was just changed. If this was not you, reset your password and contact your administrator.\n`,
      });
    } catch (error) {
      this.logger.warn({ err: error, userId: user.id }, 'could not notify the old address');
    }
  }

  /** A lost unique-index race answers "existed", like the checks before it. */
  private async writing<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof Error && error.name === 'DomainError') throw error;
      return this.users.rethrowUniqueViolation(error);
    }
  }
}
