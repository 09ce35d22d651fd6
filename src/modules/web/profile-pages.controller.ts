import { Controller, Get, HttpCode, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/auth.decorators';
import { DomainError } from '../../common/errors/domain-error';
import { UsersService } from '../accounts/users.service';
import { AuthService } from '../auth/auth.service';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { VerificationService } from '../lifecycle/verification.service';
import { SettingsService } from '../settings/settings.service';
import { captchaAnswer, formField, forwardRetryAfter, VERIFICATION_MESSAGES } from './forms';
import type { MessageKey, Translate } from './i18n';
import { flowPage } from './lifecycle-pages';
import { profilePage, type ProfileView } from './pages';
import { PageExceptionFilter } from './page-exception.filter';
import { type PageSession, WebPagesService } from './web-pages.service';

/** What a page state adds to the profile view; the rest is read fresh for every answer. */
type ProfileState = Pick<ProfileView, 'notice' | 'error' | 'mobileSentTo'>;

/** The notice of each done key a form post redirects to the profile with (`/profile/?done=`). */
const DONE_NOTICES: Readonly<Record<string, MessageKey>> = {
  saved: 'saved',
  email: 'email_changed',
  mobile: 'mobile_changed',
  revoked: 'revoked',
};

/** What a profile form post ends in: a done key (the profile's notice), another page, or a page state. */
type Outcome = string | { redirect: string } | { status: number; state: ProfileState };

/**
 * The profile pages: the name; an e-mail change proven by a mailed link (`/profile/email/`, which the
 * lifecycle mail opens) and a mobile change proven by an SMS code, both through the lifecycle service as
 * `ucenter/contact/` (current password, single-use token, the old address told); a password change with
 * the current password, as `ucenter/password/`; the browser's sessions on other devices, each of which
 * can be signed out.
 */
@ApiExcludeController()
@Public()
@Controller('profile')
@UseFilters(PageExceptionFilter)
export class ProfilePagesController {
  constructor(
    private readonly pages: WebPagesService,
    private readonly users: UsersService,
    private readonly auth: AuthService,
    private readonly lifecycle: LifecycleService,
    private readonly verification: VerificationService,
    private readonly settings: SettingsService,
  ) {}

  @Get()
  async profile(@Req() req: Request, @Res() res: Response): Promise<void> {
    const session = await this.pages.session(req);
    if (!session) return this.pages.toLogin(res, '/profile/');
    const t = this.pages.translator(req);
    const key = req.query.done;
    // Own keys only: `?done=constructor` names no notice.
    const notice =
      typeof key === 'string' && Object.hasOwn(DONE_NOTICES, key) ? t(DONE_NOTICES[key]) : undefined;
    await this.render(req, res, 200, session, { notice });
  }

  @Post()
  @HttpCode(200)
  async saveProfile(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.act(req, res, async (session) => {
      const name = formField(req.body, 'name').trim();
      if (name === '' || name.length > 255)
        return { status: 400, state: { error: this.pages.translator(req)('name') } };
      await this.users.updateProfile(session.user.id, { name });
      return 'saved';
    });
  }

  @Post('email/send')
  @HttpCode(200)
  async sendEmailLink(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.act(req, res, async (session) => {
      await this.verification.sendEmail(
        'update_email',
        { ...this.proofFields(req), email: formField(req.body, 'email').trim() },
        { ip: req.ip ?? '', principal: this.pages.principal(session) },
      );
      return { status: 200, state: { notice: this.pages.translator(req)('link_sent') } };
    });
  }

  /** The mailed link lands here: what it changes, and the current password to confirm it. */
  @Get('email')
  async confirmEmailForm(@Req() req: Request, @Res() res: Response): Promise<void> {
    const token = typeof req.query.email_token === 'string' ? req.query.email_token : '';
    const session = await this.pages.session(req);
    if (!session)
      return this.pages.toLogin(
        res,
        `/profile/email/?${new URLSearchParams({ email_token: token }).toString()}`,
      );
    const t = this.pages.translator(req);
    let status = 200;
    let intro: string | undefined;
    let error: string | undefined;
    try {
      const { email } = await this.verification.readEmailToken('update_email', token, {
        ip: req.ip ?? '',
        principal: this.pages.principal(session),
      });
      intro = t('confirm_email_for', { email });
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      status = e.status;
      error = this.describe(e, t);
    }
    const ctx = await this.pages.context(req, res);
    this.pages.send(
      res,
      status,
      flowPage(ctx, 'change_email', {
        intro,
        error,
        forms: error
          ? []
          : [
              {
                id: 'confirm-email',
                action: '/profile/email/',
                hidden: { email_token: token },
                fields: [
                  {
                    name: 'password',
                    label: 'current_password',
                    type: 'password',
                    autocomplete: 'current-password',
                  },
                ],
                submit: 'confirm_email',
              },
            ],
        links: [{ href: '/profile/', label: 'title_profile' }],
      }),
    );
  }

  @Post('email')
  @HttpCode(200)
  async confirmEmail(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.act(req, res, async (session) => {
      await this.lifecycle.changeContact(
        this.pages.principal(session),
        { password: formField(req.body, 'password'), email_token: formField(req.body, 'email_token') },
        this.pages.client(req),
      );
      return 'email';
    });
  }

  @Post('mobile/send')
  @HttpCode(200)
  async sendMobileCode(@Req() req: Request, @Res() res: Response): Promise<void> {
    const mobile = formField(req.body, 'mobile').trim();
    await this.act(req, res, async (session) => {
      await this.verification.sendSms(
        'update_mobile',
        { ...this.proofFields(req), mobile },
        { ip: req.ip ?? '', principal: this.pages.principal(session) },
      );
      return {
        status: 200,
        state: { notice: this.pages.translator(req)('code_sent'), mobileSentTo: mobile },
      };
    });
  }

  @Post('mobile')
  @HttpCode(200)
  async confirmMobile(@Req() req: Request, @Res() res: Response): Promise<void> {
    const mobile = formField(req.body, 'mobile').trim();
    await this.act(
      req,
      res,
      async (session) => {
        const principal = this.pages.principal(session);
        const { sms_token } = await this.verification.exchangeSmsCode(
          'update_mobile',
          mobile,
          formField(req.body, 'code').trim(),
          { ip: req.ip ?? '', principal },
        );
        await this.lifecycle.changeContact(
          principal,
          { password: formField(req.body, 'password'), sms_token },
          this.pages.client(req),
        );
        return 'mobile';
      },
      { mobileSentTo: mobile },
    );
  }

  /**
   * The lifecycle service's change by current password (policy, argon2id, audit) ends every session and
   * token of the user, this browser's too: so on to sign in again, with the new password.
   */
  @Post('password')
  @HttpCode(200)
  async changePassword(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.act(req, res, async (session) => {
      const newPassword = formField(req.body, 'new_password');
      if (newPassword !== formField(req.body, 'confirm_password'))
        return { status: 400, state: { error: this.pages.translator(req)('password_mismatch') } };
      await this.lifecycle.resetPassword(
        {
          username: session.user.username,
          old_password: formField(req.body, 'password'),
          new_password: newPassword,
        },
        this.pages.client(req),
      );
      return {
        redirect: `/login/?${new URLSearchParams({ next: '/profile/', done: 'password' }).toString()}`,
      };
    });
  }

  @Post('sessions/:id/revoke')
  @HttpCode(200)
  async revokeSession(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.act(req, res, async (session) => {
      const tokenId = /^\d{1,12}$/.test(id) ? Number(id) : NaN;
      // This browser's own session ends by signing out, which also tells the apps.
      if (tokenId === session.tokenId || !(await this.auth.endOwnSession(session.user, tokenId))) {
        return { status: 404, state: { error: this.pages.translator(req)('link_invalid') } };
      }
      return 'revoked';
    });
  }

  // ---- helpers ----

  /**
   * A signed-in, CSRF-checked form post: `work` answers a done key (redirect to the profile with its
   * notice), another page to redirect to, or a page state; a domain error renders the profile with its
   * message, keeping `onError`.
   */
  private async act(
    req: Request,
    res: Response,
    work: (session: PageSession) => Promise<Outcome>,
    onError: ProfileState = {},
  ): Promise<void> {
    const session = await this.pages.session(req);
    if (!session) return this.pages.toLogin(res, '/profile/');
    const t = this.pages.translator(req);
    if (!this.pages.csrfValid(req)) return this.render(req, res, 403, session, { error: t('csrf') });
    try {
      const outcome = await work(session);
      if (typeof outcome === 'string' || 'redirect' in outcome) {
        res.redirect(303, typeof outcome === 'string' ? `/profile/?done=${outcome}` : outcome.redirect);
        return;
      }
      return this.render(req, res, outcome.status, session, outcome.state);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      forwardRetryAfter(res, error);
      await this.render(req, res, error.status, session, { ...onError, error: this.describe(error, t) });
    }
  }

  private async render(
    req: Request,
    res: Response,
    status: number,
    session: PageSession,
    state: ProfileState,
  ): Promise<void> {
    // Read again: a change made by this request shows, and a session ended elsewhere is gone.
    const user = (await this.users.findLiveById(session.user.id)) ?? session.user;
    const [support, sessions] = await Promise.all([
      this.settings.accountSupport(),
      this.auth.sessionsOf(user.id),
    ]);
    const view: ProfileView = {
      ...state,
      profile: {
        username: user.username,
        name: user.name,
        email: user.privateEmail || user.email || '',
        mobile: user.mobile ?? '',
      },
      sessions: sessions.map((s) => ({ ...s, current: s.id === session.tokenId })),
      canChangeEmail: support.support_email,
      canChangeMobile: support.support_mobile,
      emailCaptcha: support.support_email ? await this.pages.sendCaptcha('email') : undefined,
      smsCaptcha:
        support.support_mobile && !state.mobileSentTo ? await this.pages.sendCaptcha('sms') : undefined,
    };
    const ctx = await this.pages.context(req, res);
    this.pages.send(res, status, profilePage(ctx, view));
  }

  /** The current password and the captcha fields a send may need, as the service reads them. */
  private proofFields(req: Request): Record<string, string> {
    return { password: formField(req.body, 'password'), ...captchaAnswer(req.body) };
  }

  private describe(error: DomainError, t: Translate): string {
    // The policy's rules as the accounts service words them (the API's list), after a translated lead.
    if (error.code === 'account.weak_password')
      return t('password_weak', { rules: Object.values(error.body).flat().join(' ') });
    const seconds = error.headers['Retry-After'] ?? '';
    const known: Record<string, MessageKey> = {
      ...VERIFICATION_MESSAGES,
      'lifecycle.password_invalid': 'password_invalid',
      'lifecycle.password_required': 'password_invalid',
      // The password change: a wrong current password, or none (`auth`: no old password given).
      'lifecycle.old_password_invalid': 'current_password_invalid',
      // The current password is checked as a login is: the same lockout and per-IP limit.
      'auth.locked': 'locked',
      'common.throttled': 'throttled',
      'lifecycle.auth_invalid': 'current_password_invalid',
      'lifecycle.email_invalid': 'email_invalid',
      'lifecycle.email_required': 'email_invalid',
      'lifecycle.email_unsupported': 'email_unavailable',
      'lifecycle.mobile_invalid': 'mobile_invalid',
      'lifecycle.mobile_required': 'mobile_invalid',
      'lifecycle.mobile_unsupported': 'sms_unavailable',
      'lifecycle.code_required': 'code_required',
      'lifecycle.sms_token_invalid': 'code_invalid',
      'lifecycle.sms_token_expired': 'code_expired',
      'lifecycle.email_token_invalid': 'link_invalid',
      'lifecycle.email_token_expired': 'link_expired',
      'account.private_email_taken': 'address_taken',
      'account.mobile_taken': 'address_taken',
    };
    return t(known[error.code] ?? 'error_intro', { seconds });
  }
}
