import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { MasterKey } from '../../common/crypto/master-key';
import { derivedKey } from '../../common/crypto/secret-box';
import { sha256Hex } from '../../common/crypto/secrets';
import { TransactionRunner } from '../../common/database/transaction-runner';
import type { Principal } from '../../common/guards/principal';
import { Clock } from '../../common/time/clock';
import { AppConfig } from '../../config/app-config';
import type { UserEntity } from '../accounts/entities/user.entity';
import { UsersService } from '../accounts/users.service';
import { RATE_LIMITER, type RateLimiter } from '../auth/rate-limit/ip-rate-limiter';
import { NotificationsService, type SmsTemplatePurpose } from '../notifications/notifications.service';
import { SettingsService } from '../settings/settings.service';
import { CaptchaService } from './captcha.service';
import type { VerificationEntity, VerificationKind } from './entities/verification.entity';
import { InvitationsService } from './invitations.service';
import { LifecycleErrors } from './lifecycle.errors';
import { VerificationsRepository } from './lifecycle.repositories';
import {
  CODE_TTL_MS,
  codeHash,
  codeMatches,
  EMAIL_PATTERN,
  EMAIL_TOKEN_TTL_MS,
  type EmailPurpose,
  HOUR_MS,
  MAX_CODE_ATTEMPTS,
  MOBILE_PATTERN,
  newEmailToken,
  newSmsCode,
  newSmsToken,
  normalizeEmail,
  RESEND_COOLDOWN_MS,
  SMS_TOKEN_TTL_MS,
  type SmsPurpose,
  tokenHash,
} from './verification-rules';

const SMS_TEMPLATES: Record<SmsPurpose, SmsTemplatePurpose> = {
  generic: 'code',
  register: 'register',
  login: 'login',
  reset_password: 'reset_pwd',
  activate_user: 'activate',
  update_mobile: 'reset_mobile',
};

/** The hosted pages the mailed links open (LifecyclePagesController in the web room). */
const EMAIL_ROUTES: Record<EmailPurpose, { path: string; subject: string; intro: string }> = {
  register: {
    path: '/register/',
    subject: 'Confirm your e-mail address',
    intro: 'To finish signing up, open',
  },
  reset_password: {
    path: '/reset-password/',
    subject: 'Reset your password',
    intro: 'To choose a new password, open',
  },
  activate_user: {
    path: '/activate/',
    subject: 'Activate your account',
    intro: 'To activate your account, open',
  },
  update_email: {
    path: '/profile/email/',
    subject: 'Confirm your new e-mail address',
    intro: 'To use this address, open',
  },
};

export interface ClientContext {
  ip: string;
  principal?: Principal;
}

type Body = Record<string, unknown>;
const text = (body: Body, key: string): string | undefined =>
  typeof body[key] === 'string' ? body[key].trim() : undefined;

/**
 * Verification codes (SMS) and links (e-mail): issued at random, stored as keyed hashes, short-lived,
 * single use, bound to a purpose and an address (and the signed-in user for contact changes). Answers
 * to senders are the same whether or not an account holds the address.
 */
@Injectable()
export class VerificationService {
  private readonly key: Buffer;

  constructor(
    private readonly verifications: VerificationsRepository,
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly settings: SettingsService,
    private readonly notifications: NotificationsService,
    private readonly users: UsersService,
    private readonly captcha: CaptchaService,
    private readonly invitations: InvitationsService,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
    masterKey: MasterKey,
  ) {
    this.key = derivedKey(masterKey.value, 'verification');
  }

  // ---- SMS ----

  async sendSms(purpose: SmsPurpose, body: Body, client: ClientContext): Promise<{ message: string }> {
    const support = await this.settings.accountSupport();
    if (purpose !== 'generic' && !support.support_mobile) throw LifecycleErrors.unsupported('mobile');
    if (purpose === 'generic' && !(await this.notifications.smsAvailable()))
      throw LifecycleErrors.unsupported('mobile');
    if (purpose === 'register' && !support.support_mobile_register)
      throw LifecycleErrors.unsupported('mobile');
    if ((await this.settings.section('captcha')).sms)
      await this.captcha.consume(body.captcha_key, body.captcha);
    const target = await this.smsTarget(purpose, body, client);
    await this.throttle('sms_code', purpose, target.address, client.ip);
    const code = newSmsCode();
    const now = this.clock.now();
    const row = await this.tx.run((manager) =>
      this.verifications.insert(manager, {
        kind: 'sms_code',
        purpose,
        address: target.address,
        secretHash: codeHash(this.key, code),
        userId: target.userId,
        invitationId: target.invitationId,
        createdAt: now,
        expiresAt: new Date(now.getTime() + CODE_TTL_MS),
      }),
    );
    if (target.deliver) {
      try {
        await this.notifications.sendCode(SMS_TEMPLATES[purpose], target.address, code);
      } catch (error) {
        await this.tx.run((manager) => this.verifications.deleteById(manager, row.id));
        throw error;
      }
    }
    return { message: 'sms has send' };
  }

  /** `GET service/sms/{purpose}/?mobile=&code=`: a right code becomes a single-use sms_token. */
  async exchangeSmsCode(
    purpose: SmsPurpose,
    mobile: unknown,
    code: unknown,
    client: ClientContext,
  ): Promise<{ sms_token: string; expired: number }> {
    if (typeof mobile !== 'string' || !MOBILE_PATTERN.test(mobile)) throw LifecycleErrors.invalid('mobile');
    if (typeof code !== 'string' || code === '') throw LifecycleErrors.required('code');
    if (purpose === 'update_mobile' && !client.principal) throw LifecycleErrors.invalid('code');
    const row = await this.verifications.latest('sms_code', purpose, mobile);
    const now = this.clock.now();
    if (!row || row.consumedAt) throw LifecycleErrors.invalid('code');
    if (purpose === 'update_mobile' && row.userId !== client.principal?.userId)
      throw LifecycleErrors.invalid('code');
    if (row.expiresAt.getTime() <= now.getTime()) throw LifecycleErrors.expired('code');
    if (row.attempts >= MAX_CODE_ATTEMPTS) throw LifecycleErrors.tooManyAttempts();
    if (!codeMatches(this.key, row.secretHash, code)) {
      const counted = await this.verifications.countAttempt(row.id, MAX_CODE_ATTEMPTS);
      throw counted ? LifecycleErrors.invalid('code') : LifecycleErrors.tooManyAttempts();
    }
    const token = newSmsToken();
    const expiresAt = new Date(now.getTime() + SMS_TOKEN_TTL_MS);
    await this.tx.run(async (manager) => {
      if (!(await this.verifications.consume(manager, row.id, now, MAX_CODE_ATTEMPTS))) {
        throw LifecycleErrors.invalid('code');
      }
      await this.verifications.insert(manager, {
        kind: 'sms_token',
        purpose,
        address: mobile,
        secretHash: tokenHash(this.key, token),
        userId: row.userId,
        invitationId: row.invitationId,
        createdAt: now,
        expiresAt,
      });
    });
    return { sms_token: token, expired: Math.floor(expiresAt.getTime() / 1000) };
  }

  /** Uses up an sms_token of this purpose inside the caller's transaction; `{"sms_token": ["invalid"]}` otherwise. */
  async consumeSmsToken(
    manager: EntityManager,
    purpose: SmsPurpose,
    token: unknown,
    expect: { mobile?: string; userId?: number } = {},
  ): Promise<VerificationEntity> {
    const row = await this.consumable(manager, 'sms_token', purpose, token, 'sms_token');
    if (expect.mobile !== undefined && row.address !== expect.mobile)
      throw LifecycleErrors.invalid('sms_token');
    if (expect.userId !== undefined && row.userId !== expect.userId)
      throw LifecycleErrors.invalid('sms_token');
    if (!(await this.verifications.consume(manager, row.id, this.clock.now())))
      throw LifecycleErrors.invalid('sms_token');
    return row;
  }

  // ---- e-mail ----

  async sendEmail(purpose: EmailPurpose, body: Body, client: ClientContext): Promise<string> {
    const support = await this.settings.accountSupport();
    if (!support.support_email) throw LifecycleErrors.unsupported('email');
    if (purpose === 'register' && !support.support_email_register) throw LifecycleErrors.unsupported('email');
    if ((await this.settings.section('captcha')).email)
      await this.captcha.consume(body.captcha_key, body.captcha);
    const target = await this.emailTarget(purpose, body, client);
    await this.throttle('email_token', purpose, target.address, client.ip);
    const token = newEmailToken();
    const now = this.clock.now();
    const row = await this.tx.run((manager) =>
      this.verifications.insert(manager, {
        kind: 'email_token',
        purpose,
        address: target.address,
        secretHash: tokenHash(this.key, token),
        userId: target.userId,
        invitationId: target.invitationId,
        createdAt: now,
        expiresAt: new Date(now.getTime() + EMAIL_TOKEN_TTL_MS),
      }),
    );
    if (target.deliver) {
      const route = EMAIL_ROUTES[purpose];
      const query = new URLSearchParams({ email_token: token, ...(target.key ? { key: target.key } : {}) });
      const link = `${this.config.baseUrl}${route.path}?${query.toString()}`;
      try {
        await this.notifications.sendMail({
          to: target.address,
          subject: route.subject,
          text: `${route.intro}\n\n${link}\n\nThe link works once, within 24 hours. If you did not ask for it, ignore this mail.\n`,
        });
      } catch (error) {
        await this.tx.run((manager) => this.verifications.deleteById(manager, row.id));
        throw error;
      }
    }
    return 'email has send';
  }

  /** `GET service/email/{purpose}/?email_token=`: what the link is about, without using it up. */
  async readEmailToken(
    purpose: EmailPurpose,
    token: unknown,
    client: ClientContext,
  ): Promise<Record<string, string>> {
    const row = await this.consumable(undefined, 'email_token', purpose, token, 'email_token');
    if (purpose === 'register') return { email: row.address };
    if (purpose === 'update_email' && (!client.principal || row.userId !== client.principal.userId)) {
      throw LifecycleErrors.invalid('email_token');
    }
    const user = row.userId === null ? null : await this.users.findLiveById(row.userId);
    if (!user) throw LifecycleErrors.invalid('email_token');
    if (purpose === 'activate_user' && !(await this.invitations.isOpen(row.invitationId))) {
      throw LifecycleErrors.invalid('email_token');
    }
    return { email: row.address, username: user.username, name: user.name };
  }

  async consumeEmailToken(
    manager: EntityManager,
    purpose: EmailPurpose,
    token: unknown,
    expect: { userId?: number; invitationId?: number } = {},
  ): Promise<VerificationEntity> {
    const row = await this.consumable(manager, 'email_token', purpose, token, 'email_token');
    if (expect.userId !== undefined && row.userId !== expect.userId)
      throw LifecycleErrors.invalid('email_token');
    if (expect.invitationId !== undefined && row.invitationId !== expect.invitationId) {
      throw LifecycleErrors.invalid('email_token');
    }
    if (!(await this.verifications.consume(manager, row.id, this.clock.now()))) {
      throw LifecycleErrors.invalid('email_token');
    }
    return row;
  }

  // ---- shared rules ----

  private async consumable(
    manager: EntityManager | undefined,
    kind: VerificationKind,
    purpose: string,
    token: unknown,
    field: 'sms_token' | 'email_token',
  ): Promise<VerificationEntity> {
    if (typeof token !== 'string' || token === '' || token.length > 64) throw LifecycleErrors.invalid(field);
    const row = await this.verifications.findBySecret(kind, tokenHash(this.key, token), manager);
    if (!row || row.purpose !== purpose || row.consumedAt) throw LifecycleErrors.invalid(field);
    if (row.expiresAt.getTime() <= this.clock.now().getTime()) throw LifecycleErrors.expired(field);
    return row;
  }

  /** 60 s between two sends to one address for one purpose, then hourly caps per address and per IP. */
  private async throttle(
    kind: VerificationKind,
    purpose: string,
    address: string,
    ip: string,
  ): Promise<void> {
    const last = await this.verifications.latest(kind, purpose, address);
    const now = this.clock.now().getTime();
    if (last && now - last.createdAt.getTime() < RESEND_COOLDOWN_MS) {
      throw LifecycleErrors.cooldown(
        Math.ceil((RESEND_COOLDOWN_MS - (now - last.createdAt.getTime())) / 1000),
      );
    }
    const { addressHourlyLimit, ipHourlyLimit } = this.config.verification;
    const perAddress = await this.limiter.hit(`verify:to:${sha256Hex(address)}`, addressHourlyLimit, HOUR_MS);
    if (!perAddress.allowed)
      throw LifecycleErrors.hourlyCap(Math.max(1, Math.ceil(perAddress.retryAfterMs / 1000)));
    const perIp = await this.limiter.hit(`verify:ip:${ip}`, ipHourlyLimit, HOUR_MS);
    if (!perIp.allowed) throw LifecycleErrors.hourlyCap(Math.max(1, Math.ceil(perIp.retryAfterMs / 1000)));
  }

  private async smsTarget(
    purpose: SmsPurpose,
    body: Body,
    client: ClientContext,
  ): Promise<{ address: string; deliver: boolean; userId: number | null; invitationId: number | null }> {
    if (purpose === 'activate_user') {
      const { invitation, invitee } = await this.invitations.requireOpen(body.key);
      if (!invitee.mobile) throw LifecycleErrors.invalid('mobile');
      return { address: invitee.mobile, deliver: true, userId: invitee.id, invitationId: invitation.id };
    }
    const mobile = text(body, 'mobile');
    if (!mobile) throw LifecycleErrors.required('mobile');
    if (!MOBILE_PATTERN.test(mobile)) throw LifecycleErrors.invalid('mobile');
    switch (purpose) {
      case 'generic':
      case 'register':
        return { address: mobile, deliver: true, userId: null, invitationId: null };
      case 'login': {
        const user = await this.users.findLoginCandidate('mobile', mobile);
        return {
          address: mobile,
          deliver: Boolean(user?.isActive),
          userId: user?.id ?? null,
          invitationId: null,
        };
      }
      case 'reset_password': {
        const username = text(body, 'username');
        if (!username) throw LifecycleErrors.required('username');
        const user = await this.users.findLoginCandidate('mobile', mobile);
        // Disabled accounts get nothing, as for login and the e-mail reset; the answer is the same.
        const match = user?.isActive && user.username === username.toLowerCase() ? user : null;
        return { address: mobile, deliver: Boolean(match), userId: match?.id ?? null, invitationId: null };
      }
      case 'update_mobile': {
        const user = await this.signedInWithPassword(body, client);
        return { address: mobile, deliver: true, userId: user.id, invitationId: null };
      }
    }
  }

  private async emailTarget(
    purpose: EmailPurpose,
    body: Body,
    client: ClientContext,
  ): Promise<{
    address: string;
    deliver: boolean;
    userId: number | null;
    invitationId: number | null;
    key?: string;
  }> {
    if (purpose === 'activate_user') {
      const { invitation, invitee } = await this.invitations.requireOpen(body.key);
      if (!invitee.privateEmail) throw LifecycleErrors.invalid('email');
      return {
        address: normalizeEmail(invitee.privateEmail),
        deliver: true,
        userId: invitee.id,
        invitationId: invitation.id,
        key: body.key as string,
      };
    }
    const raw = text(body, 'email');
    if (!raw) throw LifecycleErrors.required('email');
    if (!EMAIL_PATTERN.test(raw) || raw.length > 254) throw LifecycleErrors.invalid('email');
    const email = normalizeEmail(raw);
    switch (purpose) {
      case 'register':
        return { address: email, deliver: true, userId: null, invitationId: null };
      case 'reset_password': {
        const user = await this.users.findLoginCandidate('private_email', email);
        return {
          address: email,
          deliver: Boolean(user?.isActive),
          userId: user?.id ?? null,
          invitationId: null,
        };
      }
      case 'update_email': {
        const user = await this.signedInWithPassword(body, client);
        return { address: email, deliver: true, userId: user.id, invitationId: null };
      }
    }
  }

  private async signedInWithPassword(body: Body, client: ClientContext): Promise<UserEntity> {
    if (!client.principal) throw LifecycleErrors.invalid('password');
    const user = await this.users.findLiveById(client.principal.userId);
    const password = typeof body.password === 'string' ? body.password : '';
    if (!password) throw LifecycleErrors.required('password');
    if (!user || !(await this.users.verifyPassword(user, password)))
      throw LifecycleErrors.invalid('password');
    return user;
  }
}
