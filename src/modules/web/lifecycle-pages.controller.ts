import { Controller, Get, HttpCode, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/auth.decorators';
import { DomainError } from '../../common/errors/domain-error';
import { createValidationPipe } from '../../common/pipes/validation.pipe';
import { ActivateDto, RegisterDto, ResetPasswordDto } from '../lifecycle/dto/lifecycle-input.dto';
import { LifecycleErrors } from '../lifecycle/lifecycle.errors';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { VerificationService } from '../lifecycle/verification.service';
import type { EmailPurpose, SmsPurpose } from '../lifecycle/verification-rules';
import { SettingsService } from '../settings/settings.service';
import { captchaAnswer, formField, forwardRetryAfter, VERIFICATION_MESSAGES } from './forms';
import type { MessageKey, Translate } from './i18n';
import { type FlowField, type FlowForm, type FlowView, flowPage } from './lifecycle-pages';
import { PageExceptionFilter } from './page-exception.filter';
import { WebPagesService } from './web-pages.service';

const field = (body: unknown, name: string): string => formField(body, name).trim();
const query = (req: Request, name: string): string =>
  typeof req.query[name] === 'string' ? req.query[name] : '';

type Flow = 'register' | 'activate' | 'reset';
type Channel = 'email' | 'sms';

/** Each flow's title, the purpose its codes and links carry, where its forms post, its last step's button. */
const FLOWS = {
  register: { title: 'title_register', purpose: 'register', path: '/register/', submit: 'register_submit' },
  activate: {
    title: 'title_activate',
    purpose: 'activate_user',
    path: '/activate/',
    submit: 'activate_submit',
  },
  reset: {
    title: 'title_reset',
    purpose: 'reset_password',
    path: '/reset-password/',
    submit: 'reset_submit',
  },
} as const satisfies Record<
  Flow,
  { title: MessageKey; purpose: Extract<SmsPurpose, EmailPurpose>; path: string; submit: MessageKey }
>;

const EMAIL_FIELD: FlowField = {
  name: 'email',
  label: 'email_address',
  type: 'email',
  autocomplete: 'email',
};
const MOBILE_FIELD: FlowField = { name: 'mobile', label: 'mobile_number', type: 'tel', autocomplete: 'tel' };

/** A CSRF failure, before anything is sent or written. */
class CsrfRefused extends Error {}

const validation = createValidationPipe();

/**
 * Registration, activation from an invitation link and password reset, as pages on top of the lifecycle
 * services (the same rules, limits, captcha, tokens and audit as `ucenter/…` and `service/…`). The mailed
 * links (`/register/`, `/activate/`, `/reset-password/` with `email_token`) land here. SMS codes are traded
 * for their single-use token on submit; when a later rule refuses, the form carries that token instead, so
 * the code is not lost.
 */
@ApiExcludeController()
@Public()
@Controller()
@UseFilters(PageExceptionFilter)
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
    await this.start(req, res, 'register', (link, token) =>
      this.registerDetails(req, { email_token: token }, link.email),
    );
  }

  @Post('register/email')
  @HttpCode(200)
  async registerEmail(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.send(req, res, 'register', 'email', { email: field(req.body, 'email') }, () =>
      this.linkSent(req),
    );
  }

  @Post('register/sms')
  @HttpCode(200)
  async registerSms(@Req() req: Request, @Res() res: Response): Promise<void> {
    const mobile = field(req.body, 'mobile');
    await this.send(req, res, 'register', 'sms', { mobile }, () =>
      this.codeSent(req, this.registerDetails(req, { mobile })),
    );
  }

  @Post('register')
  @HttpCode(200)
  async register(@Req() req: Request, @Res() res: Response): Promise<void> {
    const proof = this.proof(req.body);
    await this.submit(
      req,
      res,
      'register',
      async () => {
        const dto = await this.validated(RegisterDto, {
          username: field(req.body, 'username'),
          password: formField(req.body, 'password'),
        });
        const sms = await this.smsToken(req, 'register', proof);
        const body = await this.lifecycle.register(
          { ...dto, ...(sms ? { sms_token: sms } : { email_token: proof.email_token }) },
          this.pages.client(req),
        );
        this.pages.startSession(req, res, body.token);
        res.redirect(303, '/workbench/');
        return null;
      },
      () => this.registerDetails(req, proof, undefined, field(req.body, 'username')),
    );
  }

  // ---- activation ----

  @Get('activate')
  async activateStart(@Req() req: Request, @Res() res: Response): Promise<void> {
    const key = query(req, 'key');
    await this.start(
      req,
      res,
      'activate',
      (link, token) => this.activateDetails(req, { key, email_token: token }, link.username),
      key,
    );
  }

  @Post('activate/email')
  @HttpCode(200)
  async activateEmail(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.send(req, res, 'activate', 'email', { key: field(req.body, 'key') }, () => this.linkSent(req));
  }

  @Post('activate/sms')
  @HttpCode(200)
  async activateSms(@Req() req: Request, @Res() res: Response): Promise<void> {
    const key = field(req.body, 'key');
    await this.send(req, res, 'activate', 'sms', { key }, async () => {
      const invitee = await this.lifecycle.invited(key);
      return this.codeSent(req, this.activateDetails(req, { key, mobile: invitee.mobile }, invitee.username));
    });
  }

  @Post('activate')
  @HttpCode(200)
  async activate(@Req() req: Request, @Res() res: Response): Promise<void> {
    const key = field(req.body, 'key');
    const proof: Record<string, string> = { key, ...this.proof(req.body) };
    await this.submit(
      req,
      res,
      'activate',
      async () => {
        const dto = await this.validated(ActivateDto, { key, password: formField(req.body, 'password') });
        const sms = await this.smsToken(req, 'activate_user', proof);
        await this.lifecycle.activate({
          ...dto,
          ...(sms ? { sms_token: sms } : { email_token: proof.email_token }),
        });
        return this.done(req, 'activated');
      },
      () => this.activateDetails(req, proof, ''),
    );
  }

  // ---- password reset ----

  @Get('reset-password')
  async resetStart(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.start(req, res, 'reset', (link, token) =>
      this.resetDetails(req, { email_token: token }, link.username),
    );
  }

  @Post('reset-password/email')
  @HttpCode(200)
  async resetEmail(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.send(req, res, 'reset', 'email', { email: field(req.body, 'email') }, () =>
      this.linkSent(req),
    );
  }

  @Post('reset-password/sms')
  @HttpCode(200)
  async resetSms(@Req() req: Request, @Res() res: Response): Promise<void> {
    const mobile = field(req.body, 'mobile');
    await this.send(req, res, 'reset', 'sms', { mobile, username: field(req.body, 'username') }, () =>
      this.codeSent(req, this.resetDetails(req, { mobile }, '')),
    );
  }

  @Post('reset-password')
  @HttpCode(200)
  async reset(@Req() req: Request, @Res() res: Response): Promise<void> {
    const proof = this.proof(req.body);
    await this.submit(
      req,
      res,
      'reset',
      async () => {
        const { new_password } = await this.validated(ResetPasswordDto, {
          new_password: formField(req.body, 'new_password'),
        });
        const sms = await this.smsToken(req, 'reset_password', proof);
        if (sms) {
          await this.lifecycle.resetPassword(
            { new_password, mobile: proof.mobile, sms_token: sms },
            this.pages.client(req),
          );
        } else {
          const { email } = await this.verification.readEmailToken('reset_password', proof.email_token, {
            ip: req.ip ?? '',
          });
          await this.lifecycle.resetPassword(
            { new_password, email, email_token: proof.email_token },
            this.pages.client(req),
          );
        }
        return this.done(req, 'reset_done');
      },
      () => this.resetDetails(req, proof, ''),
    );
  }

  // ---- page views ----

  /** The ways a flow can prove who the visitor is: the send forms the site supports. */
  private async choice(req: Request, flow: Flow, key: string): Promise<FlowView> {
    switch (flow) {
      case 'register':
        return this.registerChoice(req);
      case 'activate':
        return this.activateChoice(req, key);
      case 'reset':
        return this.resetChoice();
    }
  }

  private async registerChoice(req: Request): Promise<FlowView> {
    await this.open();
    const support = await this.settings.accountSupport();
    const forms: FlowForm[] = [];
    if (support.support_email_register) forms.push(await this.sendForm('register', 'email', [EMAIL_FIELD]));
    if (support.support_mobile_register) forms.push(await this.sendForm('register', 'sms', [MOBILE_FIELD]));
    return { forms, ...(forms.length === 0 ? { error: this.pages.translator(req)('no_channel') } : {}) };
  }

  private registerDetails(
    req: Request,
    proof: Record<string, string>,
    email?: string,
    username = '',
  ): FlowView {
    return this.details(
      'register',
      proof,
      email ? this.pages.translator(req)('register_for', { email }) : '',
      [
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
    );
  }

  private async activateChoice(req: Request, key: string): Promise<FlowView> {
    const invitee = await this.lifecycle.invited(key);
    const t = this.pages.translator(req);
    const forms: FlowForm[] = [];
    if (invitee.private_email) forms.push(await this.sendForm('activate', 'email', [], { key }));
    if (invitee.mobile) forms.push(await this.sendForm('activate', 'sms', [], { key }));
    return {
      intro: t('activate_intro', { name: invitee.name, username: invitee.username }),
      forms,
      ...(forms.length === 0 ? { error: t('no_channel') } : {}),
    };
  }

  private activateDetails(req: Request, proof: Record<string, string>, username: string): FlowView {
    return this.details(
      'activate',
      proof,
      username ? this.pages.translator(req)('activate_for', { username }) : '',
      [{ name: 'password', label: 'new_password', type: 'password', autocomplete: 'new-password' }],
    );
  }

  private async resetChoice(): Promise<FlowView> {
    return {
      forms: [
        await this.sendForm('reset', 'email', [EMAIL_FIELD]),
        await this.sendForm('reset', 'sms', [
          { name: 'username', label: 'account_username', type: 'text', autocomplete: 'username' },
          MOBILE_FIELD,
        ]),
      ],
      links: [{ href: '/login/', label: 'sign_in' }],
    };
  }

  private resetDetails(req: Request, proof: Record<string, string>, username: string): FlowView {
    return this.details(
      'reset',
      proof,
      username ? this.pages.translator(req)('reset_for', { username }) : '',
      [{ name: 'new_password', label: 'new_password', type: 'password', autocomplete: 'new-password' }],
    );
  }

  /** A form that sends a link or a code, with the captcha the site asks for before sending one. */
  private async sendForm(
    flow: Flow,
    channel: Channel,
    fields: FlowField[],
    hidden?: Record<string, string>,
  ): Promise<FlowForm> {
    return {
      id: `${flow}-${channel}`,
      action: `${FLOWS[flow].path}${channel}/`,
      heading: channel === 'email' ? 'by_email' : 'by_sms',
      hidden,
      fields,
      captcha: await this.pages.sendCaptcha(channel),
      submit: channel === 'email' ? 'send_link' : 'send_code',
    };
  }

  /** A flow's last step: the proof carried hidden (or the code still to trade), then the flow's fields. */
  private details(flow: Flow, proof: Record<string, string>, intro: string, fields: FlowField[]): FlowView {
    return {
      intro: intro || undefined,
      forms: [
        {
          id: flow,
          action: FLOWS[flow].path,
          hidden: this.hiddenProof(proof),
          fields: [...this.codeField(proof), ...fields],
          submit: FLOWS[flow].submit,
        },
      ],
    };
  }

  private linkSent(req: Request): FlowView {
    return { notice: this.pages.translator(req)('link_sent'), forms: [] };
  }

  private codeSent(req: Request, next: FlowView): FlowView {
    return { ...next, notice: this.pages.translator(req)('code_sent') };
  }

  private done(req: Request, notice: MessageKey): FlowView {
    return {
      notice: this.pages.translator(req)(notice),
      forms: [],
      links: [{ href: '/login/', label: 'sign_in' }],
    };
  }

  // ---- helpers ----

  /** What proves the address across steps: an email_token, or a mobile with its sms_token once traded. */
  private proof(body: unknown): Record<string, string> {
    const proof: Record<string, string> = {};
    for (const name of ['email_token', 'mobile', 'sms_token', 'code']) {
      const value = field(body, name);
      if (value) proof[name] = value;
    }
    return proof;
  }

  private hiddenProof(proof: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(proof).filter(([name]) => name !== 'code'));
  }

  /** The code field while a mobile has no traded sms_token yet. */
  private codeField(proof: Record<string, string>): FlowField[] {
    return proof.mobile && !proof.sms_token
      ? [{ name: 'code', label: 'code', type: 'text', autocomplete: 'one-time-code' }]
      : [];
  }

  /** Trades the form's code for its sms_token (kept in the proof for a retry), or returns the one carried. */
  private async smsToken(
    req: Request,
    purpose: Extract<SmsPurpose, EmailPurpose>,
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

  private async validated<T extends object>(type: new () => T, value: Record<string, string>): Promise<T> {
    return (await validation.transform(value, { type: 'body', metatype: type })) as T;
  }

  /** A flow's first page: the last step when a mailed link brought the browser here, else the choice. */
  private async start(
    req: Request,
    res: Response,
    flow: Flow,
    details: (link: Record<string, string>, token: string) => FlowView,
    key = '',
  ): Promise<void> {
    await this.run(req, res, FLOWS[flow].title, async () => {
      const token = query(req, 'email_token');
      if (!token) return this.choice(req, flow, key);
      const link = await this.verification.readEmailToken(FLOWS[flow].purpose, token, { ip: req.ip ?? '' });
      return details(link, token);
    });
  }

  /**
   * A send form: the verification service checks the captcha (when the site asks for one), cooldown and
   * caps, then sends; refused, the choice again with a fresh captcha.
   */
  private async send(
    req: Request,
    res: Response,
    flow: Flow,
    channel: Channel,
    fields: Record<string, string>,
    sent: () => FlowView | Promise<FlowView>,
  ): Promise<void> {
    await this.submit(
      req,
      res,
      flow,
      async () => {
        if (flow === 'register') await this.open();
        const body = { ...fields, ...captchaAnswer(req.body) };
        const client = { ip: req.ip ?? '' };
        if (channel === 'email') await this.verification.sendEmail(FLOWS[flow].purpose, body, client);
        else await this.verification.sendSms(FLOWS[flow].purpose, body, client);
        return sent();
      },
      () => this.choice(req, flow, fields.key ?? ''),
    );
  }

  /** A form post: refused without the browser's CSRF token, before anything is sent or written. */
  private submit(
    req: Request,
    res: Response,
    flow: Flow,
    work: () => Promise<FlowView | null>,
    retry: () => FlowView | Promise<FlowView>,
  ): Promise<void> {
    return this.run(
      req,
      res,
      FLOWS[flow].title,
      () => {
        if (!this.pages.csrfValid(req)) throw new CsrfRefused();
        return work();
      },
      retry,
    );
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
      const t = this.pages.translator(req);
      let message: string;
      if (error instanceof CsrfRefused) {
        status = 403;
        message = t('csrf');
      } else if (error instanceof DomainError) {
        status = error.status;
        forwardRetryAfter(res, error);
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

  private describe(error: DomainError, t: Translate): string {
    const seconds = error.headers['Retry-After'] ?? '';
    const known: Record<string, MessageKey> = {
      ...VERIFICATION_MESSAGES,
      'lifecycle.registration_closed': 'registration_closed',
      'lifecycle.email_token_invalid': 'link_invalid',
      'lifecycle.email_token_expired': 'link_expired',
      'lifecycle.sms_token_invalid': 'link_invalid',
      'lifecycle.sms_token_expired': 'link_expired',
      'lifecycle.key_invalid': 'link_invalid',
      'lifecycle.key_required': 'link_invalid',
      'lifecycle.key_expired': 'link_expired',
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
