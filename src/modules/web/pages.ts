import type { Branding } from './branding.service';
import { html, SafeHtml } from './html';
import { type Language, type MessageKey, scopeLabel, translator } from './i18n';

/** What every page knows: language, branding, the CSRF token for its forms, the path it is at. */
export interface PageContext {
  language: Language;
  branding: Branding;
  csrfToken: string;
  /** Same-origin path of this page, for the language switch to come back to. */
  path: string;
}

export const STYLESHEET_PATH = '/assets/arbor.css';

export function stylesheet(branding: Branding): string {
  return `:root{--brand:${branding.color}}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#f5f6f8;color:#1c1e21}
header{display:flex;align-items:center;justify-content:space-between;padding:12px 24px;background:#fff;border-bottom:1px solid #e3e5e8}
header .brand{display:flex;align-items:center;gap:8px;font-weight:600;color:inherit;text-decoration:none}
header img{height:28px}
header nav a{margin-left:16px;color:var(--brand);text-decoration:none}
main{max-width:420px;margin:48px auto;padding:32px;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
main.wide{max-width:880px}
h1{font-size:1.4em;margin:0 0 16px}
label{display:block;margin:12px 0 4px;font-size:.9em;color:#555}
input[type=text],input[type=password],input[type=email],input[type=tel]{width:100%;padding:10px;border:1px solid #ccd0d5;border-radius:6px;font-size:1em}
button{margin-top:16px;padding:10px 16px;border:0;border-radius:6px;background:var(--brand);color:#fff;font-size:1em;cursor:pointer}
button.secondary{background:#e4e6eb;color:#1c1e21}
.actions{display:flex;gap:8px}
.error{padding:10px;border-radius:6px;background:#fdecea;color:#b3261e}
.notice{padding:10px;border-radius:6px;background:#e8f5e9;color:#1b5e20}
ul.scopes li{margin:6px 0}
ul.apps{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:16px}
ul.apps li{border:1px solid #e3e5e8;border-radius:8px;padding:16px}
ul.apps img{height:40px}
ul.apps .remark{color:#666;font-size:.9em}
nav.pager{display:flex;justify-content:space-between;margin-top:16px}
img.captcha{display:block;height:40px;margin:4px 0}
h2{font-size:1.1em;margin:24px 0 8px}
ul.sessions{list-style:none;padding:0}
ul.sessions li{border-top:1px solid #e3e5e8;padding:8px 0}
ul.sessions small{display:block;color:#666}
footer{text-align:center;color:#888;font-size:.85em;margin:24px}
footer a{color:inherit}
`;
}

export function layout(
  ctx: PageContext,
  title: MessageKey,
  body: SafeHtml,
  options: { wide?: boolean; nav?: boolean } = {},
): string {
  const t = translator(ctx.language);
  const other: Language = ctx.language === 'en' ? 'zh-CN' : 'en';
  const switchHref = `/lang/${other}/?next=${encodeURIComponent(ctx.path)}`;
  return `<!DOCTYPE html>${
    html`<html lang="${ctx.language}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${t(title)} · ${ctx.branding.name}</title>
        <link rel="stylesheet" href="${STYLESHEET_PATH}" />
      </head>
      <body>
        <header>
          <a class="brand" href="/workbench/"
            >${ctx.branding.logoUrl ? html`<img src="${ctx.branding.logoUrl}" alt="" />` : ''}<span
              >${ctx.branding.name}</span
            ></a
          >
          ${options.nav ? html`<nav><a href="/workbench/">${t('title_workbench')}</a><a href="/profile/">${t('title_profile')}</a><a href="/logout/">${t('sign_out')}</a></nav>` : ''}
        </header>
        <main class="${options.wide ? 'wide' : ''}">
          <h1>${t(title)}</h1>
          ${body}
        </main>
        <footer><a href="${switchHref}" id="language-switch" hreflang="${other}">${t('language')}</a></footer>
      </body>
    </html>`.value
  }`;
}

export function csrfField(ctx: PageContext): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${ctx.csrfToken}" />`;
}

/** A page's outcome above its forms: what was done, what was refused. */
export function messages(view: { notice?: string; error?: string }): SafeHtml {
  return html`${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
  ${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ''}`;
}

/** A form that is one button: CSRF-protected, posting to `action`. */
function buttonForm(
  ctx: PageContext,
  action: string,
  button: { id?: string; label: string; secondary?: boolean },
): SafeHtml {
  const id = button.id ? html` id="${button.id}"` : '';
  const kind = button.secondary ? html` class="secondary"` : '';
  return html`<form method="post" action="${action}">
    ${csrfField(ctx)}<button type="submit" ${kind}${id}>${button.label}</button>
  </form>`;
}

/** The field for a code from a text message. */
function codeInput(ctx: PageContext, id: string): SafeHtml {
  return html`<label for="${id}">${translator(ctx.language)('code')}</label
    ><input type="text" id="${id}" name="code" inputmode="numeric" autocomplete="one-time-code" required />`;
}

/** An image captcha to answer in a form: its key travels hidden, its picture is served by the API. */
export interface CaptchaChallenge {
  key: string;
  image: string;
}

/** The captcha's fields in a form (nothing without one): every form that may need it renders it here. */
export function captchaFields(
  ctx: PageContext,
  id: string,
  captcha: CaptchaChallenge | undefined,
): SafeHtml | '' {
  if (!captcha) return '';
  const t = translator(ctx.language);
  return html`<input type="hidden" name="captcha_key" value="${captcha.key}" />
    <label for="${id}">${t('captcha')}</label><img class="captcha" src="${captcha.image}" alt="" /><input
      type="text"
      id="${id}"
      name="captcha"
      autocomplete="off"
      required
    />`;
}

/** What the sign-in page shows: the password form, and the mobile + SMS code forms when SMS is on. */
export interface LoginView {
  action: string;
  appName?: string;
  username?: string;
  error?: string;
  notice?: string;
  /** Shown in the password form once the identifier's failures reach the configured number. */
  captcha?: CaptchaChallenge;
  sms?: {
    sendAction: string;
    loginAction: string;
    mobile?: string;
    /** A code went out: ask for it. */
    sent?: boolean;
    /** Sending a code needs a captcha (site setting). */
    captcha?: CaptchaChallenge;
  };
}

export function loginPage(ctx: PageContext, form: LoginView): string {
  const t = translator(ctx.language);
  const sms = form.sms;
  return layout(
    ctx,
    'title_login',
    html`${form.appName ? html`<p>${t('sign_in_to', { app: form.appName })}</p>` : ''} ${messages(form)}
      <form method="post" action="${form.action}" id="password-login">
        ${csrfField(ctx)} <label for="username">${t('username')}</label
        ><input
          type="text"
          id="username"
          name="username"
          value="${form.username ?? ''}"
          autocomplete="username"
          required
          autofocus
        />
        <label for="password">${t('password')}</label
        ><input type="password" id="password" name="password" autocomplete="current-password" required />
        ${captchaFields(ctx, 'captcha', form.captcha)}
        <button type="submit" id="sign-in">${t('sign_in')}</button>
      </form>
      ${
        sms
          ? html`<h2>${t('sms_login')}</h2>
              <form method="post" action="${sms.sendAction}" id="sms-send">
                ${csrfField(ctx)} <label for="sms-mobile">${t('mobile_number')}</label
                ><input
                  type="tel"
                  id="sms-mobile"
                  name="mobile"
                  value="${sms.mobile ?? ''}"
                  autocomplete="tel"
                  required
                />
                ${captchaFields(ctx, 'sms-captcha', sms.captcha)}
                <button type="submit" class="secondary" id="send-code">
                  ${t(sms.sent ? 'send_again' : 'send_code')}
                </button>
              </form>
              ${
                sms.sent
                  ? html`<form method="post" action="${sms.loginAction}" id="sms-login">
                      ${csrfField(ctx)}<input type="hidden" name="mobile" value="${sms.mobile ?? ''}" />
                      ${codeInput(ctx, 'sms-code')}
                      <button type="submit" id="sms-sign-in">${t('sign_in')}</button>
                    </form>`
                  : ''
              }`
          : ''
      }
      <p><a href="/reset-password/" id="forgot-password">${t('forgot_password')}</a></p>`,
  );
}

export function consentPage(
  ctx: PageContext,
  view: { uid: string; appName: string; scopes: string[] },
): string {
  const t = translator(ctx.language);
  return layout(
    ctx,
    'title_consent',
    html`<p>${t('consent_intro', { app: view.appName })}</p>
      <ul class="scopes">
        ${view.scopes.map((s) => html`<li>${scopeLabel(ctx.language, s)}</li>`)}
      </ul>
      <div class="actions">
        ${buttonForm(ctx, `/interaction/${view.uid}/confirm`, { id: 'allow', label: t('allow') })}
        ${buttonForm(ctx, `/interaction/${view.uid}/abort`, { id: 'deny', label: t('deny'), secondary: true })}
      </div>`,
  );
}

export function deniedPage(
  ctx: PageContext,
  view: { uid: string; appName: string; permUid: string },
): string {
  const t = translator(ctx.language);
  return layout(
    ctx,
    'title_denied',
    html`<p class="error" role="alert">${t('denied_intro', { app: view.appName })}</p>
      <p>${t('denied_why', { perm: view.permUid })}</p>
      <div class="actions">
        ${buttonForm(ctx, `/interaction/${view.uid}/abort`, { id: 'back', label: t('denied_back') })}
        <form method="get" action="/interaction/${view.uid}/">
          <button type="submit" class="secondary" id="retry">${t('retry')}</button>
        </form>
      </div>`,
  );
}

export function errorPage(ctx: PageContext, error: { error: string; error_description?: string }): string {
  const t = translator(ctx.language);
  return layout(
    ctx,
    'title_error',
    html`<p>${t('error_intro')}</p>
      <p class="error">
        <code>${error.error}</code>${error.error_description ? html`: ${error.error_description}` : ''}
      </p>`,
  );
}

export function logoutPage(
  ctx: PageContext,
  providerForm: string,
  formId: string,
  appName: string | undefined,
): string {
  const t = translator(ctx.language);
  // The provider's form is markup it generated itself (a hidden xsrf field, escaped by it); the
  // buttons submit it by id.
  return layout(
    ctx,
    'title_logout',
    html`<p>${t('logout_question')}</p>
      <p>${appName ? t('logout_from', { app: appName }) : t('logout_all')}</p>
      ${new SafeHtml(providerForm)}
      <div class="actions">
        <button type="submit" form="${formId}" name="logout" value="yes" id="logout-yes">
          ${t('logout_yes')}
        </button>
        <button type="submit" form="${formId}" class="secondary" id="logout-no">${t('logout_no')}</button>
      </div>`,
  );
}

export function loggedOutPage(ctx: PageContext): string {
  const t = translator(ctx.language);
  return layout(
    ctx,
    'title_logged_out',
    html`<p class="notice">${t('logged_out')}</p>
      <p><a href="/login/">${t('sign_in')}</a></p>`,
  );
}

export interface WorkbenchApp {
  name: string;
  remark: string;
  index: string;
  logo: string;
}

/** One page of the workbench: its number, and whether pages come before and after it. */
export interface WorkbenchPaging {
  page: number;
  previous: boolean;
  next: boolean;
}

export function workbenchPage(ctx: PageContext, apps: WorkbenchApp[], paging: WorkbenchPaging): string {
  const t = translator(ctx.language);
  const link = (url: string) => (/^https?:\/\//.test(url) ? url : null);
  const pager =
    paging.previous || paging.next
      ? html`<nav class="pager">
          ${
            paging.previous
              ? html`<a href="/workbench/?page=${paging.page - 1}" rel="prev">${t('previous_page')}</a>`
              : ''
          }
          ${paging.next ? html`<a href="/workbench/?page=${paging.page + 1}" rel="next">${t('next_page')}</a>` : ''}
        </nav>`
      : '';
  return layout(
    ctx,
    'title_workbench',
    apps.length === 0
      ? html`<p>${t('no_apps')}</p>`
      : html`<ul class="apps">
            ${apps.map(
              (app) =>
                html`<li>
                  ${link(app.logo) ? html`<img src="${app.logo}" alt="" />` : ''}
                  <h2>${app.name}</h2>
                  <p class="remark">${app.remark}</p>
                  ${link(app.index) ? html`<a href="${app.index}" rel="noopener">${t('open')}</a>` : ''}
                </li>`,
            )}
          </ul>
          ${pager}`,
    { wide: true, nav: true },
  );
}

export interface ProfileSession {
  id: number;
  userAgent: string;
  ip: string;
  lastUsedAt: Date;
  current: boolean;
}

/**
 * The profile page: name, e-mail and mobile changes (each proven by a link or code), the password,
 * signed-in devices.
 */
export interface ProfileView {
  profile: { username: string; name: string; email: string; mobile: string };
  sessions: ProfileSession[];
  notice?: string;
  error?: string;
  /** A code went to this new mobile: ask for it. */
  mobileSentTo?: string;
  emailCaptcha?: CaptchaChallenge;
  smsCaptcha?: CaptchaChallenge;
  /** Which contact changes the site can verify. */
  canChangeEmail: boolean;
  canChangeMobile: boolean;
}

const CONTACT_FORMS = {
  email: { type: 'email', autocomplete: 'email', label: 'new_email', submit: 'send_link' },
  mobile: { type: 'tel', autocomplete: 'tel', label: 'new_mobile', submit: 'send_code' },
} as const;

export function profilePage(ctx: PageContext, view: ProfileView): string {
  const t = translator(ctx.language);
  const { profile } = view;
  const when = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const passwordField = (id: string) =>
    html`<label for="${id}">${t('current_password')}</label
      ><input type="password" id="${id}" name="password" autocomplete="current-password" required />`;
  // A new address, proven by a mailed link or a text message code.
  const contactForm = (contact: 'email' | 'mobile', captcha: CaptchaChallenge | undefined) => {
    const form = CONTACT_FORMS[contact];
    return html`<form method="post" action="/profile/${contact}/send/" id="change-${contact}">
      ${csrfField(ctx)} <label for="new-${contact}">${t(form.label)}</label
      ><input
        type="${form.type}"
        id="new-${contact}"
        name="${contact}"
        autocomplete="${form.autocomplete}"
        required
      />
      ${passwordField(`${contact}-password`)} ${captchaFields(ctx, `${contact}-captcha`, captcha)}
      <button type="submit" class="secondary">${t(form.submit)}</button>
    </form>`;
  };
  return layout(
    ctx,
    'title_profile',
    html`${messages(view)}
      <p><strong>${profile.username}</strong></p>
      <form method="post" action="/profile/" id="profile-name">
        ${csrfField(ctx)} <label for="name">${t('name')}</label
        ><input type="text" id="name" name="name" value="${profile.name}" maxlength="255" />
        <button type="submit">${t('save')}</button>
      </form>
      <h2>${t('email')}</h2>
      <p id="current-email">${profile.email || '—'}</p>
      ${view.canChangeEmail ? contactForm('email', view.emailCaptcha) : ''}
      <h2>${t('mobile')}</h2>
      <p id="current-mobile">${profile.mobile || '—'}</p>
      ${
        view.canChangeMobile
          ? view.mobileSentTo
            ? html`<form method="post" action="/profile/mobile/" id="confirm-mobile">
                ${csrfField(ctx)}<input type="hidden" name="mobile" value="${view.mobileSentTo}" />
                <p>${view.mobileSentTo}</p>
                ${codeInput(ctx, 'mobile-code')} ${passwordField('confirm-mobile-password')}
                <button type="submit">${t('change_mobile')}</button>
              </form>`
            : contactForm('mobile', view.smsCaptcha)
          : ''
      }
      <h2>${t('change_password')}</h2>
      <form method="post" action="/profile/password/" id="change-password">
        ${csrfField(ctx)} ${passwordField('current-password')}
        <label for="new-password">${t('new_password')}</label
        ><input type="password" id="new-password" name="new_password" autocomplete="new-password" required />
        <label for="confirm-password">${t('confirm_password')}</label
        ><input
          type="password"
          id="confirm-password"
          name="confirm_password"
          autocomplete="new-password"
          required
        />
        <button type="submit">${t('change_password')}</button>
      </form>
      <h2>${t('sessions')}</h2>
      <ul class="sessions">
        ${view.sessions.map(
          (s) =>
            html`<li id="session-${s.id}">
              <span>${s.userAgent || '—'}</span> <small>${s.ip}</small>
              <small>${t('signed_in_at', { time: when(s.lastUsedAt) })}</small>
              ${
                s.current
                  ? html`<strong>${t('this_device')}</strong>`
                  : buttonForm(ctx, `/profile/sessions/${s.id}/revoke/`, {
                      label: t('revoke'),
                      secondary: true,
                    })
              }
            </li>`,
        )}
      </ul>
      ${view.sessions.every((s) => s.current) ? html`<p>${t('no_other_sessions')}</p>` : ''}`,
    { nav: true },
  );
}
