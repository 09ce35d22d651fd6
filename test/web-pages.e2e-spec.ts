import type { Browser, Page } from 'playwright-core';
import { openBrowser } from './harness/browser';
import { API, createTestApp, createUser, testDatabaseKind, type TestApp } from './harness/test-app';
import { pkce, REDIRECT, registerApp, type TestClient } from './harness/oauth';

/**
 * The hosted pages in headless Chromium (Debian's, driven by playwright-core), against a listening app:
 * sign in, consent and land on the app's callback with a code; the access-denied page; the language
 * switch; my apps (exactly those the permission engine lets me use); sign-out. The pages are the same on either database, so this runs on SQLite only.
 */
(testDatabaseKind() === 'sqlite' ? describe : describe.skip)('hosted pages in a browser', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    t = await createTestApp();
    ({ base, browser } = await openBrowser(t));
  });
  afterAll(async () => {
    await browser.close();
    await t.close();
  });

  /** A fresh browser profile whose requests to the app's callback are answered here and recorded. */
  async function newPage(
    locale = 'zh-CN',
  ): Promise<{ page: Page; callbacks: string[]; cspErrors: string[] }> {
    const context = await browser.newContext({ locale });
    const page = await context.newPage();
    const callbacks: string[] = [];
    const cspErrors: string[] = [];
    await page.route('https://rp.example/**', async (route) => {
      callbacks.push(route.request().url());
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'rp' });
    });
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
        cspErrors.push(message.text());
    });
    return { page, callbacks, cspErrors };
  }

  const authorizeUrl = (client: TestClient) =>
    `${base}/oauth/authorize/?${new URLSearchParams({
      client_id: client.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid profile email',
      state: 'browser-state',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    }).toString()}`;

  async function signIn(page: Page, user: { username: string; password: string }): Promise<void> {
    await page.fill('#username', user.username);
    await page.fill('#password', user.password);
    await page.click('button[type=submit]');
  }

  it('signs in, asks for consent and lands on the callback with a code', async () => {
    const client = await registerApp(t);
    const user = await createUser(t);
    const { page, callbacks, cspErrors } = await newPage();
    await page.goto(authorizeUrl(client));
    expect(await page.textContent('h1')).toBe('登录');
    await signIn(page, user);
    await page.waitForSelector('#allow');
    expect(await page.textContent('main')).toContain('邮箱地址');
    await page.click('#allow');
    await page.waitForURL(/^https:\/\/rp\.example\/cb/);
    const callback = new URL(callbacks[0]);
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));
    expect(callback.searchParams.get('state')).toBe('browser-state');
    expect(callback.searchParams.get('iss')).toBe('http://arbor.test/oauth');
    // The session cookie is HttpOnly and SameSite=Lax; no token appeared in any URL.
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'spauthn');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    expect(callbacks.join(' ')).not.toContain(session?.value ?? '-');
    expect(cspErrors).toEqual([]);
    // Signed in: the next app's authorization needs no form (single sign-on), only consent.
    const other = await registerApp(t);
    await page.goto(authorizeUrl(other));
    await page.waitForSelector('#allow');
    await page.context().close();
  });

  it('says why access is denied and sends access_denied to the app', async () => {
    const client = await registerApp(t, {}, { allow_any_user: false });
    const user = await createUser(t);
    const { page, callbacks } = await newPage('en-US');
    await page.goto(authorizeUrl(client));
    await signIn(page, user);
    await page.waitForSelector('#back');
    expect(await page.textContent('h1')).toBe('Access denied');
    expect(await page.textContent('main')).toContain(`app_${client.appUid}_access`);
    await page.click('#back');
    await page.waitForURL(/^https:\/\/rp\.example\/cb/);
    expect(new URL(callbacks[0]).searchParams.get('error')).toBe('access_denied');
    await page.context().close();
  });

  it('switches language and remembers the choice', async () => {
    const { page } = await newPage('en-US');
    await page.goto(`${base}/login/`);
    expect(await page.textContent('h1')).toBe('Sign in');
    await page.click('#language-switch');
    await page.waitForURL(`${base}/login/`);
    expect(await page.textContent('h1')).toBe('登录');
    await page.reload();
    expect(await page.textContent('h1')).toBe('登录');
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    await page.context().close();
  });

  it('shows exactly the apps I may use, then signs out of Arbor', async () => {
    const admin = { Authorization: `Token ${await t.adminToken()}` };
    const user = await createUser(t);
    const someoneElse = await createUser(t);
    /** Puts a user on an app's access list: 1 white-lists, -1 black-lists. */
    const assign = (app: TestClient, username: string, status: 1 | -1) =>
      t.http
        .patch(`${API}/perm/app_${app.appUid}_access/owner/`)
        .set(admin)
        .send({ user_perm_status: [{ uid: username, status }] })
        .expect(200);
    const open = await registerApp(t, {}, { index: 'https://rp.example/home', remark: 'Expense reports' });
    const whiteListed = await registerApp(t, {}, { allow_any_user: false });
    await assign(whiteListed, user.username, 1);
    const closed = await registerApp(t, {}, { allow_any_user: false });
    const blackListed = await registerApp(t, {});
    await assign(blackListed, user.username, -1);
    const othersOnly = await registerApp(t, {}, { allow_any_user: false });
    await assign(othersOnly, someoneElse.username, 1);
    // Mine: every app open to everyone (the earlier tests' too) but the black-listed one, and the white-listed one.
    const every = await t.http.get(`${API}/app/?page_size=100`).set(admin).expect(200);
    const apps = every.body.results as { uid: string; name: string; allow_any_user: boolean }[];
    expect(apps).toHaveLength(every.body.count as number);
    const mine = apps
      .filter((a) => (a.allow_any_user && a.uid !== blackListed.appUid) || a.uid === whiteListed.appUid)
      .map((a) => a.name)
      .sort();
    expect(mine).toEqual(expect.arrayContaining([`RP ${open.appUid}`, `RP ${whiteListed.appUid}`]));

    const { page } = await newPage('en-US');
    await page.goto(`${base}/workbench/`);
    await page.waitForSelector('#password');
    await signIn(page, user);
    await page.waitForURL(`${base}/workbench/`);
    const shown = await page.locator('ul.apps h2').allTextContents();
    expect([...shown].sort()).toEqual(mine);
    for (const app of [closed, blackListed, othersOnly]) expect(shown).not.toContain(`RP ${app.appUid}`);
    expect(await page.textContent('main')).toContain('Expense reports');
    await page.click('text=Sign out');
    await page.waitForSelector('#logout-yes');
    await page.click('#logout-yes');
    await page.waitForSelector('.notice');
    expect(await page.textContent('main')).toContain('You are signed out.');
    await page.goto(`${base}/workbench/`);
    await page.waitForSelector('#password');
    const cookies = await page.context().cookies();
    const token = cookies.find((c) => c.name === 'spauthn')?.value;
    if (token) await t.http.get(`${API}/auth/token/`).set('Authorization', `Token ${token}`).expect(401);
    await page.context().close();
  });
});
