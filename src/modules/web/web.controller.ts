import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/auth.decorators';
import { DomainError } from '../../common/errors/domain-error';
import type { UserEntity } from '../accounts/entities/user.entity';
import { UsersService } from '../accounts/users.service';
import { AuthService } from '../auth/auth.service';
import type { LoginDto, UserWithPermWithTokenDto } from '../auth/dto/login.dto';
import { CaptchaService } from '../lifecycle/captcha.service';
import { VerificationService } from '../lifecycle/verification.service';
import { MOBILE_PATTERN } from '../lifecycle/verification-rules';
import { SettingsService } from '../settings/settings.service';
import { SESSION_COOKIE } from '../auth/token.strategy';
import { type InteractionView, OidcInteractionsService } from '../oidc/oidc-interactions.service';
import { accessPermUid } from '../permissions/apps.service';
import { PermChecksService } from '../permissions/perm-checks.service';
import { BrandingService } from './branding.service';
import { safeNext } from './csrf';
import { LANGUAGES, type Language, type MessageKey, translator } from './i18n';
import {
  type CaptchaChallenge,
  consentPage,
  deniedPage,
  errorPage,
  loginPage,
  type LoginView,
  stylesheet,
  STYLESHEET_PATH,
  workbenchPage,
  type WorkbenchApp,
} from './pages';
import { type PageSession, WebPagesService } from './web-pages.service';

type Form = Record<string, unknown>;

/** Where a sign-in page's forms post: standalone (`/login/?next=`) or inside an OAuth interaction. */
interface LoginTarget {
  action: string;
  smsSend: string;
  smsLogin: string;
  appName?: string;
  /** The app's redirect URIs, which the form's answer may end at (CSP form-action). */
  formTargets: string[];
}
const field = (body: unknown, name: string): string => {
  const value = (body as Form | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

/**
 * The hosted pages: sign-in (standalone and inside an OAuth authorization), consent, "access denied",
 * my apps and profile. Sign-out is the provider's end_session page (`/logout/` leads there), which also
 * ends the Arbor session. Pages identify the browser by the `spauthn` session cookie that sign-in sets;
 * no token ever travels in a URL (D4). Registration, activation and password reset join this room on
 * top of the lifecycle API.
 */
@ApiExcludeController()
@Public()
@Controller()
export class WebController {
  constructor(
    private readonly pages: WebPagesService,
    private readonly auth: AuthService,
    private readonly users: UsersService,
    private readonly interactions: OidcInteractionsService,
    private readonly checks: PermChecksService,
    private readonly branding: BrandingService,
    private readonly verification: VerificationService,
    private readonly captchas: CaptchaService,
    private readonly settings: SettingsService,
  ) {}

  @Get(STYLESHEET_PATH.slice(1))
  async css(@Req() req: Request, @Res() res: Response): Promise<void> {
    res
      .set({ 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=300' })
      .send(stylesheet(await this.branding.current(this.pages.language(req))));
  }

  @Get()
  home(@Res() res: Response): void {
    res.redirect(303, '/workbench/');
  }

  /** The language switch: remembered in a cookie, then back to the (local) page it came from. */
  @Get('lang/:language')
  switchLanguage(
    @Param('language') language: string,
    @Query('next') next: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): void {
    if ((LANGUAGES as readonly string[]).includes(language)) {
      this.pages.setLanguage(req, res, language as Language);
    }
    res.redirect(303, safeNext(next));
  }

  // ---- standalone sign-in ----

  @Get('login')
  async loginForm(@Query('next') next: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const target = safeNext(next);
    if (await this.session(req)) {
      res.redirect(303, target);
      return;
    }
    await this.renderLogin(req, res, 200, this.standalone(target), {});
  }

  @Post('login')
  @HttpCode(200)
  async login(@Query('next') next: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const target = safeNext(next);
    if (!(await this.passwordSignIn(req, res, this.standalone(target)))) return;
    res.redirect(303, target);
  }

  @Post('login/sms/send')
  @HttpCode(200)
  async loginSmsSend(@Query('next') next: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.sendLoginCode(req, res, this.standalone(safeNext(next)));
  }

  @Post('login/sms')
  @HttpCode(200)
  async loginSms(@Query('next') next: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const target = safeNext(next);
    if (!(await this.smsSignIn(req, res, this.standalone(target)))) return;
    res.redirect(303, target);
  }

  @Get('logout')
  logout(@Res() res: Response): void {
    res.redirect(303, '/oauth/session/end/');
  }

  // ---- OAuth interactions ----

  @Get('interaction/:uid')
  async interaction(@Req() req: Request, @Res() res: Response): Promise<void> {
    const view = await this.interactions.details(req, res);
    if (!view) return this.expired(req, res);
    const session = await this.session(req);
    if (view.prompt === 'login') {
      // Already signed in to Arbor in this browser: single sign-on, no form.
      if (session) return this.interactions.finishLogin(req, res, session.user.id);
      await this.renderLogin(req, res, 200, this.inInteraction(view), {});
      return;
    }
    if (!session || String(session.user.id) !== view.accountId) return this.expired(req, res);
    if (!(await this.interactions.mayUse(session.user.id, view))) return this.denied(req, res, view);
    if (view.prompt === 'access') return this.interactions.resume(req, res);
    const ctx = await this.pages.context(req, res);
    this.pages.send(
      res,
      200,
      consentPage(ctx, { uid: view.uid, appName: view.client.name, scopes: view.scopes }),
      view.client.redirectUris,
    );
  }

  @Post('interaction/:uid/login')
  @HttpCode(200)
  async interactionLogin(@Req() req: Request, @Res() res: Response): Promise<void> {
    const view = await this.interactions.details(req, res);
    if (!view || view.prompt !== 'login') return this.expired(req, res);
    const user = await this.passwordSignIn(req, res, this.inInteraction(view));
    if (user) await this.interactions.finishLogin(req, res, user.id);
  }

  @Post('interaction/:uid/sms/send')
  @HttpCode(200)
  async interactionSmsSend(@Req() req: Request, @Res() res: Response): Promise<void> {
    const view = await this.interactions.details(req, res);
    if (!view || view.prompt !== 'login') return this.expired(req, res);
    await this.sendLoginCode(req, res, this.inInteraction(view));
  }

  @Post('interaction/:uid/sms')
  @HttpCode(200)
  async interactionSms(@Req() req: Request, @Res() res: Response): Promise<void> {
    const view = await this.interactions.details(req, res);
    if (!view || view.prompt !== 'login') return this.expired(req, res);
    const user = await this.smsSignIn(req, res, this.inInteraction(view));
    if (user) await this.interactions.finishLogin(req, res, user.id);
  }

  @Post('interaction/:uid/confirm')
  @HttpCode(200)
  async confirm(@Req() req: Request, @Res() res: Response): Promise<void> {
    const view = await this.interactions.details(req, res);
    if (!view || !this.pages.csrfValid(req)) return this.expired(req, res);
    const session = await this.session(req);
    if (!session || String(session.user.id) !== view.accountId || view.prompt === 'login') {
      return this.expired(req, res);
    }
    if (!(await this.interactions.mayUse(session.user.id, view))) return this.denied(req, res, view);
    await this.interactions.finishConsent(req, res);
  }

  @Post('interaction/:uid/abort')
  @HttpCode(200)
  async abort(@Req() req: Request, @Res() res: Response): Promise<void> {
    const view = await this.interactions.details(req, res);
    if (!view || !this.pages.csrfValid(req)) return this.expired(req, res);
    const session = await this.session(req);
    const refused = session !== null && !(await this.interactions.mayUse(session.user.id, view));
    await this.interactions.deny(
      req,
      res,
      refused ? `the user does not hold ${accessPermUid(view.client.appUid)}` : 'the user denied the request',
    );
  }

  // ---- my apps (the profile has its own controller) ----

  @Get('workbench')
  async workbench(@Req() req: Request, @Res() res: Response): Promise<void> {
    const session = await this.session(req);
    if (!session) return this.toLogin(res, '/workbench/');
    const page = await this.checks.workbench(this.pages.principal(session), req, { page_size: '100' });
    const ctx = await this.pages.context(req, res);
    this.pages.send(res, 200, workbenchPage(ctx, page.results as unknown as WorkbenchApp[]));
  }

  // ---- helpers ----

  private session(req: Request): Promise<PageSession | null> {
    return this.pages.session(req);
  }

  private standalone(target: string): LoginTarget {
    const next = `?next=${encodeURIComponent(target)}`;
    return {
      action: `/login/${next}`,
      smsSend: `/login/sms/send/${next}`,
      smsLogin: `/login/sms/${next}`,
      formTargets: [],
    };
  }

  private inInteraction(view: InteractionView): LoginTarget {
    const base = `/interaction/${view.uid}`;
    return {
      action: `${base}/login`,
      smsSend: `${base}/sms/send`,
      smsLogin: `${base}/sms`,
      appName: view.client.name,
      formTargets: view.client.redirectUris,
    };
  }

  /** The sign-in page: the SMS forms while SMS codes are on, a captcha wherever the site's rules ask for one. */
  private async renderLogin(
    req: Request,
    res: Response,
    status: number,
    target: LoginTarget,
    state: Omit<LoginView, 'action' | 'appName' | 'sms'> & {
      mobile?: string;
      sent?: boolean;
      passwordCaptcha?: boolean;
    },
  ): Promise<null> {
    const { sms: smsCaptcha } = await this.settings.section('captcha');
    const smsOn = (await this.settings.accountSupport()).support_mobile;
    const view: LoginView = {
      action: target.action,
      appName: target.appName,
      username: state.username,
      error: state.error,
      notice: state.notice,
      captcha: state.passwordCaptcha ? await this.newCaptcha() : undefined,
      sms: smsOn
        ? {
            sendAction: target.smsSend,
            loginAction: target.smsLogin,
            mobile: state.mobile,
            sent: state.sent,
            captcha: smsCaptcha ? await this.newCaptcha() : undefined,
          }
        : undefined,
    };
    const ctx = await this.pages.context(req, res);
    this.pages.send(res, status, loginPage(ctx, view), target.formTargets);
    return null;
  }

  private async newCaptcha(): Promise<CaptchaChallenge> {
    const made = await this.captchas.create('/siteapi/oneid');
    return { key: made.captcha_key, image: made.captcha_img };
  }

  /**
   * Username, e-mail or mobile with a password, through the login service (per-IP limit, throttle,
   * lockout, captcha rule and audit as on the API). On failure, answers with the form again, with the
   * captcha once the identifier's failures reach the configured number, and returns null.
   */
  private async passwordSignIn(req: Request, res: Response, target: LoginTarget): Promise<UserEntity | null> {
    const t = translator(this.pages.language(req));
    const username = field(req.body, 'username').trim();
    if (!this.pages.csrfValid(req))
      return this.renderLogin(req, res, 403, target, { username, error: t('csrf') });
    const dto: LoginDto = {
      ...(await this.identifier(username)),
      password: field(req.body, 'password'),
      captcha_key: field(req.body, 'captcha_key') || undefined,
      captcha: field(req.body, 'captcha') || undefined,
    };
    try {
      return await this.startSession(req, res, await this.auth.login(dto, this.client(req)));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const { status, message, seconds } = this.describeLoginError(error, t);
      if (seconds) res.set('Retry-After', seconds);
      const passwordCaptcha = await this.auth.challengeRequired(dto);
      return this.renderLogin(req, res, status, target, { username, error: message, passwordCaptcha });
    }
  }

  /** Sends a login code to a mobile (the lifecycle service: cooldown, hourly caps, captcha rule). */
  private async sendLoginCode(req: Request, res: Response, target: LoginTarget): Promise<void> {
    const t = translator(this.pages.language(req));
    const mobile = field(req.body, 'mobile').trim();
    if (!this.pages.csrfValid(req)) {
      await this.renderLogin(req, res, 403, target, { mobile, error: t('csrf') });
      return;
    }
    try {
      await this.verification.sendSms(
        'login',
        { mobile, captcha_key: field(req.body, 'captcha_key'), captcha: field(req.body, 'captcha') },
        { ip: req.ip ?? '' },
      );
      await this.renderLogin(req, res, 200, target, { mobile, sent: true, notice: t('code_sent') });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const { status, message, seconds } = this.describeLoginError(error, t);
      if (seconds) res.set('Retry-After', seconds);
      await this.renderLogin(req, res, status, target, { mobile, error: message });
    }
  }

  /** Mobile + SMS code: the code becomes a login sms_token, which the login service spends. */
  private async smsSignIn(req: Request, res: Response, target: LoginTarget): Promise<UserEntity | null> {
    const t = translator(this.pages.language(req));
    const mobile = field(req.body, 'mobile').trim();
    if (!this.pages.csrfValid(req)) {
      return this.renderLogin(req, res, 403, target, { mobile, sent: true, error: t('csrf') });
    }
    try {
      const { sms_token } = await this.verification.exchangeSmsCode(
        'login',
        mobile,
        field(req.body, 'code').trim(),
        { ip: req.ip ?? '' },
      );
      return await this.startSession(
        req,
        res,
        await this.auth.login({ mobile, sms_token }, this.client(req)),
      );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const { status, message, seconds } = this.describeLoginError(error, t);
      if (seconds) res.set('Retry-After', seconds);
      return this.renderLogin(req, res, status, target, { mobile, sent: true, error: message });
    }
  }

  /** Sets the session cookie of a successful sign-in and returns its user. */
  private async startSession(
    req: Request,
    res: Response,
    signedIn: { body: UserWithPermWithTokenDto; expiresAt: Date },
  ): Promise<UserEntity | null> {
    res.cookie(SESSION_COOKIE, signedIn.body.token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
      path: '/',
      expires: signedIn.expiresAt,
    });
    return (await this.users.findLiveById(signedIn.body.user_id)) ?? null;
  }

  /**
   * One field for username, e-mail or mobile, as the label says: an `@` is an e-mail; a mobile number is
   * a mobile unless an account has it as its username.
   */
  private async identifier(value: string): Promise<Pick<LoginDto, 'username' | 'private_email' | 'mobile'>> {
    if (value.includes('@')) return { private_email: value };
    if (
      MOBILE_PATTERN.test(value) &&
      !(await this.users.findLoginCandidate('username', value.toLowerCase()))
    ) {
      return { mobile: value };
    }
    return { username: value };
  }

  private client(req: Request): { ip: string; userAgent: string } {
    return { ip: req.ip ?? '', userAgent: req.get('user-agent') ?? '' };
  }

  private describeLoginError(
    error: DomainError,
    t: ReturnType<typeof translator>,
  ): { status: number; message: string; seconds: string } {
    const seconds = error.headers['Retry-After'] ?? '';
    const messages: Record<string, [number, MessageKey]> = {
      'auth.bad_credentials': [401, 'bad_credentials'],
      'auth.missing_credentials': [400, 'missing_credentials'],
      'auth.account_disabled': [403, 'disabled'],
      'auth.locked': [429, 'locked'],
      'common.throttled': [429, 'throttled'],
      'lifecycle.captcha_invalid': [400, 'captcha_invalid'],
      'lifecycle.mobile_required': [400, 'mobile_invalid'],
      'lifecycle.mobile_invalid': [400, 'mobile_invalid'],
      'lifecycle.mobile_unsupported': [400, 'sms_unavailable'],
      'lifecycle.code_required': [400, 'code_required'],
      'lifecycle.code_invalid': [400, 'code_invalid'],
      'lifecycle.code_expired': [400, 'code_expired'],
      'lifecycle.code_attempts': [400, 'code_attempts'],
      // A right code for a number no account holds, or held by an account since removed.
      'lifecycle.sms_token_invalid': [400, 'code_invalid'],
      'lifecycle.cooldown': [429, 'wait'],
      'lifecycle.hourly_cap': [429, 'wait'],
    };
    const [status, key] = messages[error.code] ?? [400, 'bad_credentials'];
    return { status, message: t(key, { seconds }), seconds };
  }

  private async denied(req: Request, res: Response, view: InteractionView): Promise<void> {
    const ctx = await this.pages.context(req, res);
    this.pages.send(
      res,
      403,
      deniedPage(ctx, {
        uid: view.uid,
        appName: view.client.name,
        permUid: accessPermUid(view.client.appUid),
      }),
      view.client.redirectUris,
    );
  }

  private async expired(req: Request, res: Response): Promise<void> {
    const ctx = await this.pages.context(req, res);
    this.pages.send(
      res,
      400,
      errorPage(ctx, {
        error: 'invalid_request',
        error_description: 'this sign-in request expired or is unknown',
      }),
    );
  }

  private toLogin(res: Response, next: string): void {
    res.redirect(303, `/login/?next=${encodeURIComponent(next)}`);
  }
}
