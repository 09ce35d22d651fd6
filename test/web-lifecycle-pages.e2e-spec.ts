import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { browser as agentFor, csrfOf } from './harness/oauth';
import { SmtpSink } from './harness/smtp-sink';
import { API, createTestApp, createUser, login, testDatabaseKind, type TestApp } from './harness/test-app';

const CHROMIUM = '/usr/bin/chromium';

/**
 * The lifecycle pages (forgot password, activation from an invitation, registration) in headless
 * Chromium against a listening app and a real SMTP server, and their refusals over HTTP.
 */
(testDatabaseKind() === 'sqlite' ? describe : describe.skip)('lifecycle pages', () => {
  let t: TestApp;
  let smtp: SmtpSink;
  let chrome: Browser;
  let base: string;
  const auth = async () => ({ Authorization: `Token ${await t.adminToken()}` });

  beforeAll(async () => {
    smtp = new SmtpSink();
    const smtpPort = await smtp.start();
    t = await createTestApp({ VERIFICATION_ADDRESS_HOURLY_LIMIT: '50', VERIFICATION_IP_HOURLY_LIMIT: '500' });
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    await t.http
      .patch(`${API}/config/`)
      .set(await auth())
      .send({
        account_config: { allow_register: false, allow_email: true },
        email_config: {
          host: '127.0.0.1',
          port: smtpPort,
          tls: false,
          access_key: smtp.user,
          access_secret: smtp.password,
          sender: 'noreply@arbor.test',
        },
      })
      .expect(200);
    chrome = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await chrome.close();
    await t.close();
    await smtp.stop();
  });

  /** The mailed link, rebased on the listening app (BASE_URL is http://arbor.test in tests). */
  function linkTo(address: string, path: string): string {
    const mail = [...smtp.mails].reverse().find((m) => m.to.includes(address));
    const body = (mail?.raw ?? '').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const link = new RegExp(`http://arbor\\.test${path}\\?[^\\s]+`).exec(body)?.[0];
    if (!link) throw new Error(`no ${path} link mailed to ${address}`);
    return link.replace('http://arbor.test', base);
  }

  async function newPage(): Promise<{ page: Page; cspErrors: string[] }> {
    const context = await chrome.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    return { page, cspErrors };
  }

  it('resets a forgotten password by an e-mailed link, end to end', async () => {
    const user = await createUser(t, { private_email: 'nora@example.com' });
    const { page, cspErrors } = await newPage();
    await page.goto(`${base}/login/`);
    await page.click('#forgot-password');
    await page.waitForURL(`${base}/reset-password/`);
    await page.fill('#reset-email-email', 'nora@example.com');
    await page.click('#reset-email button[type=submit]');
    await page.waitForSelector('.notice');
    expect(await page.textContent('.notice')).toContain('we mailed it a link');
    const link = linkTo('nora@example.com', '/reset-password/');
    await page.goto(link);
    expect(await page.textContent('main')).toContain(`Choose a new password for ${user.username}`);
    await page.fill('#reset-new_password', 'Fresh-pass-2026-q');
    await page.click('#reset button[type=submit]');
    await page.waitForSelector('.notice');
    expect(await page.textContent('.notice')).toContain('Your password was reset');
    expect(cspErrors).toEqual([]);
    await login(t.http, { username: user.username, password: 'Fresh-pass-2026-q' });
    const stale = await t.http
      .post(`${API}/ucenter/login/`)
      .send({ username: user.username, password: user.password });
    expect(stale.status).not.toBe(200);
    // The link worked once.
    await page.goto(link);
    expect(await page.textContent('.error')).toContain('invalid or was already used');
    await page.context().close();
  });

  it('activates an invited user from the invitation link, by a link to their e-mail', async () => {
    const invitee = await createUser(t, { private_email: 'ivy@example.com' });
    const invitation = await t.http
      .post(`${API}/invitation/user/${invitee.username}/`)
      .set(await auth())
      .send({})
      .expect(200);
    const key = (invitation.body as { key: string }).key;
    const { page, cspErrors } = await newPage();
    await page.goto(`${base}/activate/?key=${encodeURIComponent(key)}`);
    expect(await page.textContent('main')).toContain(`(${invitee.username})`);
    await page.click('#activate-email button[type=submit]');
    await page.waitForSelector('.notice');
    await page.goto(linkTo('ivy@example.com', '/activate/'));
    expect(await page.textContent('main')).toContain(`Choose a password for ${invitee.username}`);
    await page.fill('#activate-password', 'short');
    await page.click('#activate button[type=submit]');
    await page.waitForSelector('.error');
    expect(await page.textContent('.error')).toContain('password');
    await page.fill('#activate-password', 'Ivy-chosen-2026-z');
    await page.click('#activate button[type=submit]');
    await page.waitForSelector('.notice');
    expect(await page.textContent('.notice')).toContain('Your account is active');
    expect(cspErrors).toEqual([]);
    await login(t.http, { username: invitee.username, password: 'Ivy-chosen-2026-z' });
    // The invitation is over.
    await page.goto(`${base}/activate/?key=${encodeURIComponent(key)}`);
    expect(await page.textContent('.error')).toContain('invalid or was already used');
    await page.context().close();
  });

  it('refuses forms without the CSRF token of the browser, sending nothing', async () => {
    await createUser(t, { private_email: 'csrf@example.com' });
    const agent = agentFor(t);
    const form = await agent.get('/reset-password/').expect(200);
    expect(form.headers['content-security-policy']).toContain("default-src 'none'");
    const before = smtp.mails.length;
    const forged = await agentFor(t)
      .post('/reset-password/email/')
      .type('form')
      .send({ csrf: csrfOf(form.text), email: 'csrf@example.com' });
    expect(forged.status).toBe(403);
    await agent.post('/reset-password/email/').type('form').send({ email: 'csrf@example.com' }).expect(403);
    expect(smtp.mails.length).toBe(before);
    await agent
      .post('/reset-password/email/')
      .type('form')
      .send({ csrf: csrfOf(form.text), email: 'csrf@example.com' })
      .expect(200);
    expect(smtp.mails.length).toBe(before + 1);
  });

  it('shows registration only while it is open, and registers by an e-mailed link', async () => {
    const agent = agentFor(t);
    const closed = await agent.get('/register/').set('Accept-Language', 'en').expect(403);
    expect(closed.text).toContain('Registration is closed');
    expect(closed.text).not.toContain('register-email');
    const before = smtp.mails.length;
    await agent
      .post('/register/email/')
      .type('form')
      .send({ csrf: csrfOf((await agent.get('/reset-password/')).text), email: 'reg@example.com' })
      .expect(403);
    expect(smtp.mails.length).toBe(before);
    await t.http
      .patch(`${API}/config/`)
      .set(await auth())
      .send({ account_config: { allow_register: true } })
      .expect(200);
    const open = await agent.get('/register/').expect(200);
    expect(open.text).toContain('register-email');
    await agent
      .post('/register/email/')
      .type('form')
      .send({ csrf: csrfOf(open.text), email: 'reg@example.com' })
      .expect(200);
    const link = new URL(linkTo('reg@example.com', '/register/'));
    const details = await agent.get(link.pathname + link.search).expect(200);
    const token = link.searchParams.get('email_token') ?? '';
    const bad = await agent
      .post('/register/')
      .type('form')
      .send({
        csrf: csrfOf(details.text),
        email_token: token,
        username: 'No Way',
        password: 'Reg-pass-2026-k',
      });
    expect(bad.status).toBe(400);
    const done = await agent
      .post('/register/')
      .type('form')
      .send({
        csrf: csrfOf(details.text),
        email_token: token,
        username: 'reguser1',
        password: 'Reg-pass-2026-k',
      });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/workbench/');
    expect(done.headers['set-cookie']?.toString()).toContain('spauthn=');
    await login(t.http, { username: 'reguser1', password: 'Reg-pass-2026-k' });
    await t.http
      .patch(`${API}/config/`)
      .set(await auth())
      .send({ account_config: { allow_register: false } })
      .expect(200);
  });
});
