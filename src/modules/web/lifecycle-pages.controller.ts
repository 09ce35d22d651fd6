import { Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/auth.decorators';
import { DomainError } from '../../common/errors/domain-error';
import { createValidationPipe } from '../../common/pipes/validation.pipe';
import { SESSION_COOKIE } from '../auth/token.strategy';
import { ActivateDto, RegisterDto, ResetPasswordDto } from '../lifecycle/dto/lifecycle-input.dto';
import { LifecycleErrors } from '../lifecycle/lifecycle.errors';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { VerificationService } from '../lifecycle/verification.service';
import { SettingsService } from '../settings/settings.service';
import { type MessageKey, translator } from './i18n';
import { type FlowForm, type FlowView, flowPage } from './lifecycle-pages';
import { WebPagesService } from './web-pages.service';

type Form = Record<string, unknown>;
const field = (body: unknown, name: string): string => {
  const value = (body as Form | undefined)?.[name];
  return typeof value === 'string' ? value.trim() : '';
};
const raw = (body: unknown, name: string): string => {
  const value = (body as Form | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};
const query = (req: Request, name: string): string =>
  typeof req.query[name] === 'string' ? req.query[name] : '';

/** A CSRF failure, before anything is sent or written. */
class CsrfRefused extends Error {}

const validation = createValidationPipe();

/**
 * Registration, activation from an invitation link and password reset, as pages on top of the lifecycle
 * services (the same rules, limits, tokens and audit as `ucenter/…` and `service/…`). The mailed links
 * (`/register/`, `/activate/`, `/reset-password/` with `email_token`) land here. SMS codes are traded for
 * their single-use token on submit; when a later rule refuses, the form carries that token instead, so the
 * code is not lost.
 */
@ApiExcludeController()
@Public()
@Controller()
export class LifecyclePagesController {
  constructor(
    private readonly pages: WebPagesService,
    private readonly lifecycle: LifecycleService,
    private readonly verification: VerificationService,
    private readonly settings: SettingsService,
  ) {}

  // ---- registration ----

  @Get('register')
  async registerStart(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.run(req, res, 'title_register', async () => {
      const token = query(req, 'email_token');
      if (token) {
        const { email } = await this.verification.readEmailToken('register', token, { ip: req.ip ?? '' });
        return this.registerDetails(req, { email_token: token }, email);
      }
      return this.registerChoice(req);
    });
  }

  @Post('register/email')
  @HttpCode(200)
  async registerEmail(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.run(
      req,
      res,
      'title_register',
      async () => {
        this.csrf(req);
        await this.open();
        await this.verification.sendEmail(
          'register',
          { email: field(req.body, 'email') },
          { ip: req.ip ?? '' },
        );
        return { notice: this.t(req)('link_sent'), forms: [] };
      },
      () => this.registerChoice(req),
    );
  }

  @Post('register/sms')
  @HttpCode(200)
  async registerSms(@Req() req: Request, @Res() res: Response): Promise<void> {
    const mobile = field(req.body, 'mobile');
    await this.run(
      req,
      res,
      'title_register',
      async () => {
        this.csrf(req);
        await this.open();
        await this.verification.sendSms('register', { mobile }, { ip: req.ip ?? '' });
        return { ...this.registerDetails(req, { mobile }), notice: this.t(req)('code_sent') };
      },
      () => this.registerChoice(req),
    );
  }

  @Post('register')
  @HttpCode(200)
  async register(@Req() req: Request, @Res() res: Response): Promise<void> {
    const proof = this.proof(req.body, 'email_token');
    await this.run(
      req,
      res,
      'title_register',
      async () => {
        this.csrf(req);
        const dto = await this.validated(RegisterDto, {
          username: field(req.body, 'username'),
          password: raw(req.body, 'password'),
        });
        const sms = await this.smsToken(req, 'register', proof);
        const body = await this.lifecycle.register(
          { ...dto, ...(sms ? { sms_token: sms } : { email_token: proof.email_token }) },
          { ip: req.ip ?? '', userAgent: req.get('user-agent') ?? '' },
        );
        res.cookie(SESSION_COOKIE, body.token, {
          httpOnly: true,
          sameSite: 'lax',
          secure: req.secure,
          path: '/',
        });
        res.redirect(303, '/workbench/');
        return null;
      },
      () => this.registerDetails(req, proof, undefined, field(req.body, 'username')),
    );
  }

  // ---- activation ----

  @Get('activate')
  async activateStart(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.run(req, res, 'title_activate', async () => {
      const key = query(req, 'key');
      const token = query(req, 'email_token');
      if (token) {
        const link = await this.verification.readEmailToken('activate_user', token, { ip: req.ip ?? '' });
        return this.activateDetails(req, { key, email_token: token }, link.username);
      }
      return this.activateChoice(req, key);
    });
  }

  @Post('activate/email')
  @HttpCode(200)
  async activateEmail(@Req() req: Request, @Res() res: Response): Promise<void> {
    const key = field(req.body, 'key');
    await this.run(req, res, 'title_activate', async () => {
      this.csrf(req);
      await this.verification.sendEmail('activate_user', { key }, { ip: req.ip ?? '' });
      return { notice: this.t(req)('link_sent'), forms: [] };
    });
  }

  @Post('activate/sms')
  @HttpCode(200)
  async activateSms(@Req() req: Request, @Res() res: Response): Promise<void> {
    const key = field(req.body, 'key');
    await this.run(req, res, 'title_activate', async () => {
      this.csrf(req);
      const invitee = await this.lifecycle.invited(key);
      await this.verification.sendSms('activate_user', { key }, { ip: req.ip ?? '' });
      return {
        ...this.activateDetails(req, { key, mobile: invitee.mobile }, invitee.username),
        notice: this.t(req)('code_sent'),
      };
    });
  }

  @Post('activate')
  @HttpCode(200)
  async activate(@Req() req: Request, @Res() res: Response): Promise<void> {
    const key = field(req.body, 'key');
    const proof: Record<string, string> = { key, ...this.proof(req.body, 'email_token') };
    await this.run(
      req,
      res,
      'title_activate',
      async () => {
        this.csrf(req);
        const dto = await this.validated(ActivateDto, { key, password: raw(req.body, 'password') });
        const sms = await this.smsToken(req, 'activate_user', proof);
        await this.lifecycle.activate({
          ...dto,
          ...(sms ? { sms_token: sms } : { email_token: proof.email_token }),
        });
        return {
          notice: this.t(req)('activated'),
          forms: [],
          links: [{ href: '/login/', label: 'sign_in' }],
        };
      },
      () => this.activateDetails(req, proof, ''),
    );
  }

  // ---- password reset ----

  @Get('reset-password')
  async resetStart(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.run(req, res, 'title_reset', async () => {
      const token = query(req, 'email_token');
      if (token) {
        const link = await this.verification.readEmailToken('reset_password', token, { ip: req.ip ?? '' });
        return this.resetDetails(req, { email_token: token }, link.username);
      }
      return this.resetChoice();
    });
  }

  @Post('reset-password/email')
  @HttpCode(200)
  async resetEmail(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.run(
      req,
      res,
      'title_reset',
      async () => {
        this.csrf(req);
        await this.verification.sendEmail(
          'reset_password',
          { email: field(req.body, 'email') },
          { ip: req.ip ?? '' },
        );
        return { notice: this.t(req)('link_sent'), forms: [] };
      },
      () => this.resetChoice(),
    );
  }

  @Post('reset-password/sms')
  @HttpCode(200)
  async resetSms(@Req() req: Request, @Res() res: Response): Promise<void> {
    const mobile = field(req.body, 'mobile');
    await this.run(
      req,
      res,
      'title_reset',
      async () => {
        this.csrf(req);
        await this.verification.sendSms(
          'reset_password',
          { mobile, username: field(req.body, 'username') },
          { ip: req.ip ?? '' },
        );
        return { ...this.resetDetails(req, { mobile }, ''), notice: this.t(req)('code_sent') };
      },
      () => this.resetChoice(),
    );
  }

  @Post('reset-password')
  @HttpCode(200)
  async reset(@Req() req: Request, @Res() res: Response): Promise<void> {
    const proof = this.proof(req.body, 'email_token');
    await this.run(
      req,
      res,
      'title_reset',
      async () => {
        this.csrf(req);
        const { new_password } = await this.validated(ResetPasswordDto, {
          new_password: raw(req.body, 'new_password'),
        });
        const sms = await this.smsToken(req, 'reset_password', proof);
        if (sms) {
          await this.lifecycle.resetPassword({ new_password, mobile: proof.mobile, sms_token: sms });
        } else {
          const { email } = await this.verification.readEmailToken('reset_password', proof.email_token, {
            ip: req.ip ?? '',
          });
          await this.lifecycle.resetPassword({ new_password, email, email_token: proof.email_token });
        }
        return {
          notice: this.t(req)('reset_done'),
          forms: [],
          links: [{ href: '/login/', label: 'sign_in' }],
        };
      },
      () => this.resetDetails(req, proof, ''),
    );
  }

  // ---- page views ----

  private async registerChoice(req: Request): Promise<FlowView> {
    await this.open();
    const support = await this.settings.accountSupport();
    const forms: FlowForm[] = [];
    if (support.support_email_register) {
      forms.push({
        id: 'register-email',
        action: '/register/email/',
        heading: 'by_email',
        fields: [{ name: 'email', label: 'email_address', type: 'email', autocomplete: 'email' }],
        submit: 'send_link',
      });
    }
    if (support.support_mobile_register) {
      forms.push({
        id: 'register-sms',
        action: '/register/sms/',
        heading: 'by_sms',
        fields: [{ name: 'mobile', label: 'mobile_number', type: 'tel', autocomplete: 'tel' }],
        submit: 'send_code',
      });
    }
    return { forms, ...(forms.length === 0 ? { error: this.t(req)('no_channel') } : {}) };
  }

  private registerDetails(
    req: Request,
    proof: Record<string, string>,
    email?: string,
    username = '',
  ): FlowView {
    return {
      intro: email ? this.t(req)('register_for', { email }) : undefined,
      forms: [
        {
          id: 'register',
          action: '/register/',
          hidden: this.hiddenProof(proof),
          fields: [
            ...this.codeField(proof),
            {
              name: 'username',
              label: 'account_username',
              type: 'text',
              value: username,
              autocomplete: 'username',
              hint: 'username_rule',
            },
            { name: 'password', label: 'password', type: 'password', autocomplete: 'new-password' },
          ],
          submit: 'register_submit',
        },
      ],
    };
  }

  private async activateChoice(req: Request, key: string): Promise<FlowView> {
    const invitee = await this.lifecycle.invited(key);
    const t = this.t(req);
    const forms: FlowForm[] = [];
    if (invitee.private_email) {
      forms.push({
        id: 'activate-email',
        action: '/activate/email/',
        heading: 'by_email',
        hidden: { key },
        fields: [],
        submit: 'send_link',
      });
    }
    if (invitee.mobile) {
      forms.push({
        id: 'activate-sms',
        action: '/activate/sms/',
        heading: 'by_sms',
        hidden: { key },
        fields: [],
        submit: 'send_code',
      });
    }
    return {
      intro: t('activate_intro', { name: invitee.name, username: invitee.username }),
      forms,
      ...(forms.length === 0 ? { error: t('no_channel') } : {}),
    };
  }

  private activateDetails(req: Request, proof: Record<string, string>, username: string): FlowView {
    return {
      intro: username ? this.t(req)('activate_for', { username }) : undefined,
      forms: [
        {
          id: 'activate',
          action: '/activate/',
          hidden: this.hiddenProof(proof),
          fields: [
            ...this.codeField(proof),
            { name: 'password', label: 'new_password', type: 'password', autocomplete: 'new-password' },
          ],
          submit: 'activate_submit',
        },
      ],
    };
  }

  private resetChoice(): FlowView {
    return {
      forms: [
        {
          id: 'reset-email',
          action: '/reset-password/email/',
          heading: 'by_email',
          fields: [{ name: 'email', label: 'email_address', type: 'email', autocomplete: 'email' }],
          submit: 'send_link',
        },
        {
          id: 'reset-sms',
          action: '/reset-password/sms/',
          heading: 'by_sms',
          fields: [
            { name: 'username', label: 'account_username', type: 'text', autocomplete: 'username' },
            { name: 'mobile', label: 'mobile_number', type: 'tel', autocomplete: 'tel' },
          ],
          submit: 'send_code',
        },
      ],
      links: [{ href: '/login/', label: 'sign_in' }],
    };
  }

  private resetDetails(req: Request, proof: Record<string, string>, username: string): FlowView {
    return {
      intro: username ? this.t(req)('reset_for', { username }) : undefined,
      forms: [
        {
          id: 'reset',
          action: '/reset-password/',
          hidden: this.hiddenProof(proof),
          fields: [
            ...this.codeField(proof),
            { name: 'new_password', label: 'new_password', type: 'password', autocomplete: 'new-password' },
          ],
          submit: 'reset_submit',
        },
      ],
    };
  }

  // ---- helpers ----

  /** What proves the address across steps: an email_token, or a mobile with its sms_token once traded. */
  private proof(body: unknown, tokenField: 'email_token'): Record<string, string> {
    const proof: Record<string, string> = {};
    for (const name of [tokenField, 'mobile', 'sms_token', 'code']) {
      const value = field(body, name);
      if (value) proof[name] = value;
    }
    return proof;
  }

  private hiddenProof(proof: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(proof).filter(([name]) => name !== 'code'));
  }

  /** The code field while a mobile has no traded sms_token yet. */
  private codeField(proof: Record<string, string>) {
    return proof.mobile && !proof.sms_token
      ? [{ name: 'code', label: 'code' as const, type: 'text' as const, autocomplete: 'one-time-code' }]
      : [];
  }

  /** Trades the form's code for its sms_token (kept in the proof for a retry), or returns the one carried. */
  private async smsToken(
    req: Request,
    purpose: 'register' | 'activate_user' | 'reset_password',
    proof: Record<string, string>,
  ): Promise<string | undefined> {
    if (proof.sms_token) return proof.sms_token;
    if (!proof.mobile) return undefined;
    const { sms_token } = await this.verification.exchangeSmsCode(purpose, proof.mobile, proof.code, {
      ip: req.ip ?? '',
    });
    proof.sms_token = sms_token;
    delete proof.code;
    return sms_token;
  }

  private async open(): Promise<void> {
    if (!(await this.settings.accountSupport()).allow_register) {
      throw LifecycleErrors.registrationClosed();
    }
  }

  private csrf(req: Request): void {
    if (!this.pages.csrfValid(req)) throw new CsrfRefused();
  }

  private async validated<T extends object>(type: new () => T, value: Record<string, string>): Promise<T> {
    return (await validation.transform(value, { type: 'body', metatype: type })) as T;
  }

  private t(req: Request) {
    return translator(this.pages.language(req));
  }

  /**
   * Renders what `work` returns (null: it answered itself). A refusal renders `retry` (the form again,
   * or an error alone) with the message of the error: CSRF 403, lifecycle errors by their code, others as
   * their ArkID body says.
   */
  private async run(
    req: Request,
    res: Response,
    title: MessageKey,
    work: () => Promise<FlowView | null>,
    retry: () => FlowView | Promise<FlowView> = () => ({ forms: [] }),
  ): Promise<void> {
    let status = 200;
    let view: FlowView | null;
    try {
      view = await work();
      if (view === null) return;
    } catch (error) {
      const t = this.t(req);
      let message: string;
      if (error instanceof CsrfRefused) {
        status = 403;
        message = t('csrf');
      } else if (error instanceof DomainError) {
        status = error.status;
        if (error.headers['Retry-After']) res.set('Retry-After', error.headers['Retry-After']);
        message = this.describe(error, t);
      } else {
        throw error;
      }
      let again: FlowView;
      try {
        again = await retry();
      } catch (inner) {
        if (!(inner instanceof DomainError)) throw inner;
        again = { forms: [] };
      }
      view = { ...again, error: message };
    }
    const ctx = await this.pages.context(req, res);
    this.pages.send(res, status, flowPage(ctx, title, view));
  }

  private describe(error: DomainError, t: ReturnType<typeof translator>): string {
    const seconds = error.headers['Retry-After'] ?? '';
    const known: Record<string, MessageKey> = {
      'lifecycle.registration_closed': 'registration_closed',
      'lifecycle.email_token_invalid': 'link_invalid',
      'lifecycle.email_token_expired': 'link_expired',
      'lifecycle.sms_token_invalid': 'link_invalid',
      'lifecycle.sms_token_expired': 'link_expired',
      'lifecycle.key_invalid': 'link_invalid',
      'lifecycle.key_required': 'link_invalid',
      'lifecycle.key_expired': 'link_expired',
      'lifecycle.code_invalid': 'code_invalid',
      'lifecycle.code_expired': 'code_expired',
      'lifecycle.code_attempts': 'code_attempts',
      'lifecycle.cooldown': 'wait',
      'lifecycle.hourly_cap': 'wait',
      'common.throttled': 'wait',
    };
    const key = known[error.code];
    if (key) return t(key, { seconds });
    // Rule lists (password policy, taken usernames, …) as the API words them.
    return Object.entries(error.body)
      .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : JSON.stringify(value)}`)
      .join('; ');
  }
}
