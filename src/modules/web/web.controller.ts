import { Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/auth.decorators';
import { CommonErrors, DomainError } from '../../common/errors/domain-error';
import type { UserEntity } from '../accounts/entities/user.entity';
import { UsersService } from '../accounts/users.service';
import { AuthService, type SignedIn } from '../auth/auth.service';
import type { LoginDto } from '../auth/dto/login.dto';
import { VerificationService } from '../lifecycle/verification.service';
import { MOBILE_PATTERN } from '../lifecycle/verification-rules';
import { SettingsService } from '../settings/settings.service';
import { type InteractionView, OidcInteractionsService } from '../oidc/oidc-interactions.service';
import { accessPermUid } from '../permissions/apps.service';
import { PermChecksService } from '../permissions/perm-checks.service';
import { BrandingService } from './branding.service';
import { safeNext } from './csrf';
import { captchaAnswer, formField, forwardRetryAfter, VERIFICATION_MESSAGES } from './forms';
import { LANGUAGES, type Language, type MessageKey, type Translate } from './i18n';
import {
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
import { PageExceptionFilter } from './page-exception.filter';
import { type PageSession, WebPagesService } from './web-pages.service';

/** What a sign-in form shows again beside what the target and the site decide. */
type LoginState = Omit<LoginView, 'action' | 'appName' | 'sms' | 'captcha'> & {
  mobile?: string;
  sent?: boolean;
  passwordCaptcha?: boolean;
};

/** Apps per workbench page. */
export const WORKBENCH_PAGE_SIZE = 50;

/** What another page that sends the browser to sign in (`/login/?done=`) tells it there. */
const LOGIN_NOTICES: Readonly<Record<string, MessageKey>> = { password: 'password_changed' };

/** Where a sign-in page's forms post: standalone (`/login/?next=`) or inside an OAuth interaction. */
interface LoginTarget {
  action: string;
  smsSend: string;
  smsLogin: string;
  appName?: string;
  /** The app's redirect URIs, which the form's answer may end at (CSP form-action). */
  formTargets: string[];
}

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
@UseFilters(PageExceptionFilter)
export class WebController {
  constructor(
    private readonly pages: WebPagesService,
    private readonly auth: AuthService,
    private readonly users: UsersService,
    private readonly interactions: OidcInteractionsService,
    private readonly checks: PermChecksService,
    private readonly branding: BrandingService,
    private readonly verification: VerificationService,
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
  async loginForm(
    @Query('next') next: unknown,
    @Query('done') done: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const target = safeNext(next);
    if (await this.session(req)) {
      res.redirect(303, target);
      return;
    }
    const notice =
      typeof done === 'string' && Object.hasOwn(LOGIN_NOTICES, done) ? LOGIN_NOTICES[done] : undefined;
    await this.renderLogin(req, res, 200, this.standalone(target), {
      notice: notice ? this.pages.translator(req)(notice) : undefined,
    });
  }

  @Post('login')
  @HttpCode(200)
  async login(@Query('next') next: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.signInStandalone(next, res, (target) => this.passwordSignIn(req, res, target));
  }

  @Post('login/sms/send')
  @HttpCode(200)
  async loginSmsSend(@Query('next') next: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.sendLoginCode(req, res, this.standalone(safeNext(next)));
  }

  @Post('login/sms')
  @HttpCode(200)
  async loginSms(@Query('next') next: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.signInStandalone(next, res, (target) => this.smsSignIn(req, res, target));
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
      if (session) return this.signedIn(req, res, view, session.user);
      await this.renderLogin(req, res, 200, this.inInteraction(view), {});
      return;
    }
    if (!session || String(session.user.id) !== view.accountId) return this.expired(req, res);
    if (!(await this.interactions.mayUse(session.user, view))) return this.denied(req, res, view);
    if (view.prompt === 'access') return this.interactions.resume(req, res);
    await this.renderConsent(req, res, view);
  }

  @Post('interaction/:uid/login')
  @HttpCode(200)
  async interactionLogin(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.signInInteraction(req, res, (target) => this.passwordSignIn(req, res, target));
  }

  @Post('interaction/:uid/sms/send')
  @HttpCode(200)
  async interactionSmsSend(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.signInInteraction(req, res, (target) => this.sendLoginCode(req, res, target));
  }

  @Post('interaction/:uid/sms')
  @HttpCode(200)
  async interactionSms(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.signInInteraction(req, res, (target) => this.smsSignIn(req, res, target));
  }

  @Post('interaction/:uid/confirm')
  @HttpCode(200)
  async confirm(@Req() req: Request, @Res() res: Response): Promise<void> {
    const view = await this.interactions.details(req, res);
    if (!view || !this.pages.csrfValid(req)) return this.expired(req, res);
    const session = await this.session(req);
    // At the login prompt only a sign-in held for this consent (holdLogin) can be approved.
    const accountId = view.prompt === 'login' ? view.heldAccountId : view.accountId;
    if (!session || accountId === undefined || String(session.user.id) !== accountId) {
      return this.expired(req, res);
    }
    if (!(await this.interactions.mayUse(session.user, view))) return this.denied(req, res, view);
    await this.interactions.finishConsent(req, res);
  }

  @Post('interaction/:uid/abort')
  @HttpCode(200)
  async abort(@Req() req: Request, @Res() res: Response): Promise<void> {
    const view = await this.interactions.details(req, res);
    if (!view || !this.pages.csrfValid(req)) return this.expired(req, res);
    const session = await this.session(req);
    const refused = session !== null && !(await this.interactions.mayUse(session.user, view));
    await this.interactions.deny(
      req,
      res,
      refused ? `the user does not hold ${accessPermUid(view.client.appUid)}` : 'the user denied the request',
    );
  }

  // ---- my apps (the profile has its own controller) ----

  /** The apps this user may use, a page at a time (a bad or past-the-end page is the 404 page). */
  @Get('workbench')
  async workbench(@Query('page') page: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const session = await this.session(req);
    if (!session) return this.pages.toLogin(res, '/workbench/');
    const number =
      page === undefined ? 1 : typeof page === 'string' && /^[1-9]\d{0,8}$/.test(page) ? Number(page) : 0;
    if (number === 0) throw CommonErrors.invalidPage();
    const apps = await this.checks.workbench(this.pages.principal(session), req, {
      page: String(number),
      page_size: String(WORKBENCH_PAGE_SIZE),
    });
    const ctx = await this.pages.context(req, res);
    this.pages.send(
      res,
      200,
      workbenchPage(ctx, apps.results as unknown as WorkbenchApp[], {
        page: number,
        previous: apps.previous !== null,
        next: apps.next !== null,
      }),
    );
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

  /** A standalone sign-in step; once it signs the browser in, on to `next`. */
  private async signInStandalone(
    next: unknown,
    res: Response,
    step: (target: LoginTarget) => Promise<UserEntity | null>,
  ): Promise<void> {
    const target = safeNext(next);
    if (await step(this.standalone(target))) res.redirect(303, target);
  }

  /**
   * A sign-in step inside an authorization that still asks for one (else the "expired" page); once it
   * signs the browser in, the authorization goes on.
   */
  private async signInInteraction(
    req: Request,
    res: Response,
    step: (target: LoginTarget) => Promise<UserEntity | null | void>,
  ): Promise<void> {
    const view = await this.interactions.details(req, res);
    if (!view || view.prompt !== 'login') return this.expired(req, res);
    const user = await step(this.inInteraction(view));
    if (user) await this.signedIn(req, res, view, user);
  }

  /**
   * The browser is signed in at an interaction's login prompt. When consent is what the provider
   * would ask next, and the user may use the app, the consent page comes in this answer, the sign-in
   * held for it; otherwise the flow resumes with the sign-in.
   */
  private async signedIn(
    req: Request,
    res: Response,
    view: InteractionView,
    user: UserEntity,
  ): Promise<void> {
    if (this.interactions.consentFollows(view) && (await this.interactions.mayUse(user, view))) {
      await this.interactions.holdLogin(req, user.id);
      return this.renderConsent(req, res, view);
    }
    await this.interactions.finishLogin(req, res, user.id);
  }

  private async renderConsent(req: Request, res: Response, view: InteractionView): Promise<void> {
    const ctx = await this.pages.context(req, res);
    this.pages.send(
      res,
      200,
      consentPage(ctx, { uid: view.uid, appName: view.client.name, scopes: view.scopes }),
      view.client.redirectUris,
    );
  }

  /** The sign-in page: the SMS forms while SMS codes are on, a captcha wherever the site's rules ask for one. */
  private async renderLogin(
    req: Request,
    res: Response,
    status: number,
    target: LoginTarget,
    state: LoginState,
  ): Promise<null> {
    const smsOn = (await this.settings.accountSupport()).support_mobile;
    const view: LoginView = {
      action: target.action,
      appName: target.appName,
      username: state.username,
      error: state.error,
      notice: state.notice,
      captcha: state.passwordCaptcha ? await this.pages.newCaptcha() : undefined,
      sms: smsOn
        ? {
            sendAction: target.smsSend,
            loginAction: target.smsLogin,
            mobile: state.mobile,
            sent: state.sent,
            captcha: await this.pages.sendCaptcha('sms'),
          }
        : undefined,
    };
    const ctx = await this.pages.context(req, res);
    this.pages.send(res, status, loginPage(ctx, view), target.formTargets);
    return null;
  }

  /**
   * One sign-in form post: without the browser's CSRF token, 403 and the form again; a refusal of the
   * login or lifecycle service answers with the form again (as `again` says) and its message, and null.
   */
  private async loginStep<T>(
    req: Request,
    res: Response,
    target: LoginTarget,
    state: LoginState,
    work: (t: Translate) => Promise<T>,
    again: () => Promise<LoginState> = () => Promise.resolve(state),
  ): Promise<T | null> {
    const t = this.pages.translator(req);
    if (!this.pages.csrfValid(req)) {
      return this.renderLogin(req, res, 403, target, { ...state, error: t('csrf') });
    }
    try {
      return await work(t);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const { status, message } = this.describeLoginError(error, t);
      forwardRetryAfter(res, error);
      return this.renderLogin(req, res, status, target, { ...(await again()), error: message });
    }
  }

  /**
   * Username, e-mail or mobile with a password, through the login service (per-IP limit, throttle,
   * lockout, captcha rule and audit as on the API). On failure, answers with the form again, with the
   * captcha once the identifier's failures reach the configured number, and returns null.
   */
  private async passwordSignIn(req: Request, res: Response, target: LoginTarget): Promise<UserEntity | null> {
    const username = formField(req.body, 'username').trim();
    const { captcha_key, captcha } = captchaAnswer(req.body);
    const dto: LoginDto = {
      ...(await this.identifier(username)),
      password: formField(req.body, 'password'),
      captcha_key: captcha_key || undefined,
      captcha: captcha || undefined,
    };
    return this.loginStep(
      req,
      res,
      target,
      { username },
      async () => this.startSession(req, res, await this.auth.signIn(dto, this.pages.client(req))),
      async () => ({ username, passwordCaptcha: await this.auth.challengeRequired(dto) }),
    );
  }

  /** Sends a login code to a mobile (the lifecycle service: cooldown, hourly caps, captcha rule). */
  private async sendLoginCode(req: Request, res: Response, target: LoginTarget): Promise<void> {
    const mobile = formField(req.body, 'mobile').trim();
    await this.loginStep(req, res, target, { mobile }, async (t) => {
      await this.verification.sendSms('login', { mobile, ...captchaAnswer(req.body) }, { ip: req.ip ?? '' });
      return this.renderLogin(req, res, 200, target, { mobile, sent: true, notice: t('code_sent') });
    });
  }

  /** Mobile + SMS code: the code becomes a login sms_token, which the login service spends. */
  private async smsSignIn(req: Request, res: Response, target: LoginTarget): Promise<UserEntity | null> {
    const mobile = formField(req.body, 'mobile').trim();
    return this.loginStep(req, res, target, { mobile, sent: true }, async () => {
      const { sms_token } = await this.verification.exchangeSmsCode(
        'login',
        mobile,
        formField(req.body, 'code').trim(),
        { ip: req.ip ?? '' },
      );
      return this.startSession(
        req,
        res,
        await this.auth.signIn({ mobile, sms_token }, this.pages.client(req)),
      );
    });
  }

  /** Sets the session cookie of a successful sign-in and returns its user. */
  private startSession(req: Request, res: Response, signedIn: SignedIn): UserEntity {
    this.pages.startSession(req, res, signedIn.key, signedIn.expiresAt);
    return signedIn.user;
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

  private describeLoginError(error: DomainError, t: Translate): { status: number; message: string } {
    const seconds = error.headers['Retry-After'] ?? '';
    const messages: Record<string, [number, MessageKey]> = {
      'auth.bad_credentials': [401, 'bad_credentials'],
      'auth.missing_credentials': [400, 'missing_credentials'],
      'auth.account_disabled': [403, 'disabled'],
      'auth.locked': [429, 'locked'],
      'common.throttled': [429, 'throttled'],
      'lifecycle.mobile_required': [400, 'mobile_invalid'],
      'lifecycle.mobile_invalid': [400, 'mobile_invalid'],
      'lifecycle.mobile_unsupported': [400, 'sms_unavailable'],
      'lifecycle.code_required': [400, 'code_required'],
      // A right code for a number no account holds, or held by an account since removed.
      'lifecycle.sms_token_invalid': [400, 'code_invalid'],
    };
    const shared = VERIFICATION_MESSAGES[error.code];
    const [status, key] =
      messages[error.code] ?? (shared ? [error.status, shared] : [400, 'bad_credentials']);
    return { status, message: t(key, { seconds }) };
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
}
