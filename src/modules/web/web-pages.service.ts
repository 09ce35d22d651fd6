import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Request, Response } from 'express';
import { derivedKey } from '../../common/crypto/secret-box';
import { prefixedCookieName } from '../../common/http/cookies';
import { MasterKey } from '../../common/crypto/master-key';
import type { Principal } from '../../common/guards/principal';
import type { UserEntity } from '../accounts/entities/user.entity';
import { AuthService, type ClientInfo } from '../auth/auth.service';
import { sessionKeyOf, setSessionCookie } from '../auth/session-cookie';
import { CaptchaService } from '../lifecycle/captcha.service';
import { type OidcPages, OidcPagesLink, type PageRequest } from '../oidc/oidc-pages.link';
import { SettingsService } from '../settings/settings.service';
import { BrandingService } from './branding.service';
import { CsrfTokens } from './csrf';
import {
  type Language,
  LANGUAGE_COOKIE,
  languageCookieFrom,
  pickLanguage,
  type Translate,
  translator,
} from './i18n';
import { type CaptchaChallenge, errorPage, loggedOutPage, logoutPage, type PageContext } from './pages';

export const CSRF_COOKIE = 'arbor_csrf';

/** A signed-in browser: its session token's id and its live, active user. */
export interface PageSession {
  tokenId: number;
  user: UserEntity;
}
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;
/** Bounds the policy cache (apps' redirect URI sets); refilled on demand past it. */
const MAX_POLICIES = 512;

/**
 * What every hosted page needs: language, branding, CSRF, security headers. Also renders the pages
 * the OAuth provider serves itself (errors, sign-out), so they look and speak the same.
 */
@Injectable()
export class WebPagesService implements OnModuleInit, OidcPages {
  readonly csrf: CsrfTokens;
  /** Policies by form targets: one per app's redirect URIs, built once. */
  private readonly policies = new Map<string, string>();

  constructor(
    private readonly branding: BrandingService,
    private readonly link: OidcPagesLink,
    private readonly auth: AuthService,
    private readonly captchas: CaptchaService,
    private readonly settings: SettingsService,
    masterKey: MasterKey,
  ) {
    this.csrf = new CsrfTokens(derivedKey(masterKey.value, 'web-csrf'));
  }

  onModuleInit(): void {
    this.link.connect(this);
  }

  /** The Arbor session of this browser (the session cookie), or null. */
  async session(req: Request): Promise<PageSession | null> {
    const key = sessionKeyOf(req);
    return key ? this.auth.session(key) : null;
  }

  /** Sets the session cookie of a sign-in or a registration; without `expires`, it ends with the browser. */
  startSession(req: Request, res: Response, token: string, expires?: Date): void {
    setSessionCookie(req, res, token, expires);
  }

  /** To the sign-in page, and back to `next` after it. */
  toLogin(res: Response, next: string): void {
    res.redirect(303, `/login/?next=${encodeURIComponent(next)}`);
  }

  /** Who is asking, for the per-IP limits and the session list. */
  client(req: Request): ClientInfo {
    return { ip: req.ip ?? '', userAgent: req.get('user-agent') ?? '' };
  }

  /** The principal a page acts as, for services that take one (as the API's guard builds it). */
  principal(session: PageSession): Principal {
    const { user } = session;
    return {
      userId: user.id,
      username: user.username,
      tokenId: session.tokenId,
      roles: user.isAdmin ? ['admin'] : [],
    };
  }

  language(req: Request): Language {
    const cookies = req.cookies as Record<string, string | undefined>;
    return pickLanguage(cookies[prefixedCookieName(LANGUAGE_COOKIE, req.secure)], req.get('accept-language'));
  }

  translator(req: Request): Translate {
    return translator(this.language(req));
  }

  setLanguage(req: Request, res: Response, language: Language): void {
    res.cookie(prefixedCookieName(LANGUAGE_COOKIE, req.secure), language, {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
      path: '/',
      maxAge: ONE_YEAR_MS,
    });
  }

  /** The page context, issuing the browser's CSRF secret cookie when it has none. */
  async context(req: Request, res: Response): Promise<PageContext> {
    const name = prefixedCookieName(CSRF_COOKIE, req.secure);
    let secret = (req.cookies as Record<string, string | undefined>)[name];
    if (!secret) {
      secret = this.csrf.newSecret();
      res.cookie(name, secret, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' });
    }
    const language = this.language(req);
    return {
      language,
      branding: await this.branding.current(language),
      csrfToken: this.csrf.tokenFor(secret),
      path: req.originalUrl.split('?')[0],
    };
  }

  /** A new image captcha for a form; its picture is served by the API. */
  async newCaptcha(): Promise<CaptchaChallenge> {
    const made = await this.captchas.create('/siteapi/oneid');
    return { key: made.captcha_key, image: made.captcha_img };
  }

  /** The captcha a form that sends an SMS code or a mail must answer, when the site asks for one. */
  async sendCaptcha(channel: 'sms' | 'email'): Promise<CaptchaChallenge | undefined> {
    return (await this.settings.section('captcha'))[channel] ? this.newCaptcha() : undefined;
  }

  csrfValid(req: Request): boolean {
    const secret = (req.cookies as Record<string, string | undefined>)[
      prefixedCookieName(CSRF_COOKIE, req.secure)
    ];
    return this.csrf.verify(secret, (req.body as Record<string, unknown> | undefined)?.csrf);
  }

  /**
   * Sends a page with the strict policy; `formTargets` are origins a form may end up at (redirects).
   * Written straight to the response: pages are no-store and carry a fresh CSRF token, so Express's
   * ETag (a SHA-1 of every page) and freshness check would never serve anything.
   */
  send(res: Response, status: number, page: string, formTargets: string[] = []): void {
    const body = Buffer.from(page);
    res.writeHead(status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': body.length,
      'Content-Security-Policy': this.contentSecurityPolicy(formTargets),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
    });
    res.end(body);
  }

  contentSecurityPolicy(formTargets: readonly string[]): string {
    const key = formTargets.join(' ');
    let policy = this.policies.get(key);
    if (policy === undefined) {
      const origins = [...new Set(formTargets.flatMap((uri) => URL.parse(uri)?.origin ?? []))].filter(
        (o) => o !== 'null',
      );
      policy = [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        `form-action 'self'${origins.map((o) => ` ${o}`).join('')}`,
        "frame-ancestors 'none'",
        "base-uri 'none'",
      ].join('; ');
      if (this.policies.size >= MAX_POLICIES) this.policies.clear();
      this.policies.set(key, policy);
    }
    return policy;
  }

  // ---- pages the provider renders ----

  async error(request: PageRequest, error: { error: string; error_description?: string }): Promise<string> {
    return errorPage(await this.providerContext(request), error);
  }

  async logout(
    request: PageRequest,
    form: string,
    formId: string,
    clientName: string | undefined,
  ): Promise<string> {
    return logoutPage(await this.providerContext(request), form, formId, clientName);
  }

  async loggedOut(request: PageRequest): Promise<string> {
    return loggedOutPage(await this.providerContext(request));
  }

  /**
   * Provider pages carry no Arbor form of their own (the provider has its xsrf). Their branding is
   * read as every page's is; the last one read serves when the settings cannot be (the error page of
   * a database outage).
   */
  private async providerContext(request: PageRequest): Promise<PageContext> {
    const language = pickLanguage(languageCookieFrom(request.cookie), request.acceptLanguage);
    return {
      language,
      branding: await this.branding.current(language).catch(() => this.branding.cached(language)),
      csrfToken: '',
      path: '/oauth/session/end/',
    };
  }
}
