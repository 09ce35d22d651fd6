import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/auth.decorators';
import { DomainError } from '../../common/errors/domain-error';
import type { Principal } from '../../common/guards/principal';
import type { UserEntity } from '../accounts/entities/user.entity';
import { UsersService } from '../accounts/users.service';
import { AuthService } from '../auth/auth.service';
import { SESSION_COOKIE } from '../auth/token.strategy';
import { type InteractionView, OidcInteractionsService } from '../oidc/oidc-interactions.service';
import { accessPermUid } from '../permissions/apps.service';
import { PermChecksService } from '../permissions/perm-checks.service';
import { BrandingService } from './branding.service';
import { safeNext } from './csrf';
import { LANGUAGES, type Language, type MessageKey, translator } from './i18n';
import {
  consentPage,
  deniedPage,
  errorPage,
  loginPage,
  profilePage,
  stylesheet,
  STYLESHEET_PATH,
  workbenchPage,
  type WorkbenchApp,
} from './pages';
import { WebPagesService } from './web-pages.service';

type Form = Record<string, unknown>;
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
    const ctx = await this.pages.context(req, res);
    this.pages.send(res, 200, loginPage(ctx, { action: `/login/?next=${encodeURIComponent(target)}` }));
  }

  @Post('login')
  @HttpCode(200)
  async login(@Query('next') next: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const target = safeNext(next);
    const action = `/login/?next=${encodeURIComponent(target)}`;
    if (!(await this.signIn(req, res, action))) return;
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
      const ctx = await this.pages.context(req, res);
      this.pages.send(
        res,
        200,
        loginPage(ctx, { action: `/interaction/${view.uid}/login`, appName: view.client.name }),
        view.client.redirectUris,
      );
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
    const user = await this.signIn(req, res, `/interaction/${view.uid}/login`, view);
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

  // ---- my apps and profile ----

  @Get('workbench')
  async workbench(@Req() req: Request, @Res() res: Response): Promise<void> {
    const session = await this.session(req);
    if (!session) return this.toLogin(res, '/workbench/');
    const page = await this.checks.workbench(this.principal(session), req, { page_size: '100' });
    const ctx = await this.pages.context(req, res);
    this.pages.send(res, 200, workbenchPage(ctx, page.results as unknown as WorkbenchApp[]));
  }

  @Get('profile')
  async profile(@Req() req: Request, @Res() res: Response): Promise<void> {
    const session = await this.session(req);
    if (!session) return this.toLogin(res, '/profile/');
    const ctx = await this.pages.context(req, res);
    this.pages.send(
      res,
      200,
      profilePage(ctx, this.profileOf(session.user), { saved: req.query.saved === '1' }),
    );
  }

  @Post('profile')
  @HttpCode(200)
  async saveProfile(@Req() req: Request, @Res() res: Response): Promise<void> {
    const session = await this.session(req);
    if (!session) return this.toLogin(res, '/profile/');
    const t = translator(this.pages.language(req));
    const ctx = await this.pages.context(req, res);
    if (!this.pages.csrfValid(req)) {
      this.pages.send(res, 403, profilePage(ctx, this.profileOf(session.user), { error: t('csrf') }));
      return;
    }
    const name = field(req.body, 'name').trim();
    if (name === '' || name.length > 255) {
      this.pages.send(res, 400, profilePage(ctx, this.profileOf(session.user), { error: t('name') }));
      return;
    }
    await this.users.updateProfile(session.user.id, { name });
    res.redirect(303, '/profile/?saved=1');
  }

  // ---- helpers ----

  /** The Arbor session of this browser (the `spauthn` cookie), or null. */
  private async session(req: Request): Promise<{ tokenId: number; user: UserEntity } | null> {
    const key = (req.cookies as Record<string, string | undefined>)[SESSION_COOKIE];
    return key ? this.auth.session(key) : null;
  }

  /**
   * Checks the form's CSRF token, then signs in through the login service (per-IP limit, throttle,
   * lockout and audit as on the API), setting the session cookie. On failure, answers with the form
   * again and a message, and returns null.
   */
  private async signIn(
    req: Request,
    res: Response,
    action: string,
    view?: InteractionView,
  ): Promise<UserEntity | null> {
    const t = translator(this.pages.language(req));
    const username = field(req.body, 'username').trim();
    const again = async (status: number, message: string, headers: Record<string, string> = {}) => {
      const ctx = await this.pages.context(req, res);
      res.set(headers);
      this.pages.send(
        res,
        status,
        loginPage(ctx, { action, appName: view?.client.name, username, error: message }),
        view?.client.redirectUris,
      );
      return null;
    };
    if (!this.pages.csrfValid(req)) return again(403, t('csrf'));
    try {
      const { body, expiresAt } = await this.auth.login(
        { username, password: field(req.body, 'password') },
        { ip: req.ip ?? '', userAgent: req.get('user-agent') ?? '' },
      );
      res.cookie(SESSION_COOKIE, body.token, {
        httpOnly: true,
        sameSite: 'lax',
        secure: req.secure,
        path: '/',
        expires: expiresAt,
      });
      return (await this.users.findLiveById(body.user_id)) ?? null;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const seconds = error.headers['Retry-After'] ?? '';
      const messages: Record<string, [number, MessageKey]> = {
        'auth.bad_credentials': [401, 'bad_credentials'],
        'auth.missing_credentials': [400, 'missing_credentials'],
        'auth.account_disabled': [403, 'disabled'],
        'auth.locked': [429, 'locked'],
        'common.throttled': [429, 'throttled'],
      };
      const [status, key] = messages[error.code] ?? [400, 'bad_credentials'];
      return again(status, t(key, { seconds }), seconds ? { 'Retry-After': seconds } : {});
    }
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

  private principal(session: { tokenId: number; user: UserEntity }): Principal {
    const { user } = session;
    return {
      userId: user.id,
      username: user.username,
      tokenId: session.tokenId,
      roles: user.isAdmin ? ['admin'] : [],
    };
  }

  private profileOf(user: UserEntity) {
    return {
      username: user.username,
      name: user.name,
      email: user.email || user.privateEmail || '',
      mobile: user.mobile ?? '',
    };
  }
}
