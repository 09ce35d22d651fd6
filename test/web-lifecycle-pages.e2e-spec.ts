import type { Browser, Page } from 'playwright-core';
import { openBrowser } from './harness/browser';
import type TestAgent from 'supertest/lib/agent';
import { AliyunSmsFake } from './harness/aliyun-sms-fake';
import { captchaAnswerOf, captchaKeyOf, setCaptcha } from './harness/captcha';
import { browser as agentFor, csrfOf } from './harness/oauth';
import { SmtpSink } from './harness/smtp-sink';
import { API, createTestApp, createUser, login, testDatabaseKind, type TestApp } from './harness/test-app';

/**
 * The lifecycle pages (forgot password, activation from an invitation, registration) against a real
 * SMTP server and the loopback Aliyun fake: over HTTP on both databases (refusals, CSRF, the captcha a
 * site may ask for before a code or a link goes out), and end to end in headless Chromium on SQLite.
 */
describe('lifecycle pages', () => {
  let t: TestApp;
  let smtp: SmtpSink;
  let sms: AliyunSmsFake;
  let seq = 0;
  const unique = () => `${process.pid % 1000}${++seq}`;
  const nextMobile = () =>
    `137${String(process.pid % 10000).padStart(4, '0')}${String(++seq).padStart(4, '0')}`;
  const auth = async () => ({ Authorization: `Token ${await t.adminToken()}` });
  const setRegistration = async (open: boolean) =>
    t.http
      .patch(`${API}/config/`)
      .set(await auth())
      .send({ account_config: { allow_register: open } })
      .expect(200);

  beforeAll(async () => {
    smtp = new SmtpSink();
    sms = new AliyunSmsFake();
    const [smsEndpoint] = await Promise.all([sms.start(), smtp.start()]);
    t = await createTestApp({
      ALIYUN_SMS_ENDPOINT: smsEndpoint,
      VERIFICATION_ADDRESS_HOURLY_LIMIT: '50',
      VERIFICATION_IP_HOURLY_LIMIT: '500',
    });
    await t.http
      .patch(`${API}/config/`)
      .set(await auth())
      .send({
        account_config: { allow_register: false, allow_email: true, allow_mobile: true },
        email_config: smtp.siteConfig(),
        sms_config: sms.siteConfig(),
      })
      .expect(200);
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([smtp.stop(), sms.stop()]);
  });

  /** Path and query of the link last mailed to an address (BASE_URL is http://arbor.test in tests). */
  function mailedPath(address: string, path: string): string {
    const mail = [...smtp.mails].reverse().find((m) => m.to.includes(address));
    const body = (mail?.raw ?? '').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const link = new RegExp(`http://arbor\\.test${path}\\?[^\\s]+`).exec(body)?.[0];
    if (!link) throw new Error(`no ${path} link mailed to ${address}`);
    return link.replace('http://arbor.test', '');
  }

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
    await setRegistration(true);
    const open = await agent.get('/register/').expect(200);
    expect(open.text).toContain('register-email');
    await agent
      .post('/register/email/')
      .type('form')
      .send({ csrf: csrfOf(open.text), email: 'reg@example.com' })
      .expect(200);
    const link = new URL(mailedPath('reg@example.com', '/register/'), 'http://arbor.test');
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
    await setRegistration(false);
  });

  describe('with a captcha required before a code or a link is sent', () => {
    const WRONG = 'Those were not the characters in the picture';
    const texts = () => sms.sent.length;
    const mails = () => smtp.mails.length;
    beforeAll(() => setCaptcha(t, { sms: true, email: true }));
    afterAll(() => setCaptcha(t, { sms: false, email: false }));

    /** Posts a form of `page` (with its CSRF token), asking for English. */
    const post = (agent: TestAgent, action: string, page: string, fields: Record<string, string>) =>
      agent
        .post(action)
        .set('Accept-Language', 'en')
        .type('form')
        .send({ csrf: csrfOf(page), ...fields });

    /**
     * A send form of `page` answered wrong: 400 with the message, the form again with a new picture,
     * nothing sent. Then answered right: sent once; returns that page.
     */
    async function sendPastCaptcha(
      agent: TestAgent,
      page: string,
      formId: string,
      action: string,
      fields: Record<string, string>,
      sent: () => number,
    ) {
      const before = sent();
      const wrong = await post(agent, action, page, {
        ...fields,
        captcha_key: captchaKeyOf(page, formId),
        captcha: 'zz',
      });
      expect(wrong.status).toBe(400);
      expect(wrong.text).toContain(WRONG);
      const key = captchaKeyOf(wrong.text, formId);
      expect(key).not.toBe(captchaKeyOf(page, formId));
      expect(sent()).toBe(before);
      const right = await post(agent, action, wrong.text, {
        ...fields,
        captcha_key: key,
        captcha: await captchaAnswerOf(t, key),
      });
      expect(right.status).toBe(200);
      expect(sent()).toBe(before + 1);
      return right;
    }

    it('registers by an SMS code once the captcha is answered, sending nothing without it', async () => {
      await setRegistration(true);
      try {
        const agent = agentFor(t);
        const mobile = nextMobile();
        const choice = await agent.get('/register/').expect(200);
        expect(choice.text).toContain('id="register-sms-captcha"');
        expect(choice.text).toContain('id="register-email-captcha"');
        const before = texts();
        const missing = await post(agent, '/register/sms/', choice.text, { mobile });
        expect(missing.status).toBe(400);
        expect(missing.text).toContain(WRONG);
        expect(texts()).toBe(before);
        const sent = await sendPastCaptcha(
          agent,
          missing.text,
          'register-sms',
          '/register/sms/',
          { mobile },
          texts,
        );
        expect(sent.text).toContain('we sent it a code');
        const username = `cap${unique()}`;
        const done = await post(agent, '/register/', sent.text, {
          mobile,
          code: sms.lastCodeTo(mobile),
          username,
          password: 'Cap-pass-2026-r',
        });
        expect(done.status).toBe(303);
        expect(done.headers['set-cookie']?.toString()).toContain('spauthn=');
        await login(t.http, { username, password: 'Cap-pass-2026-r' });
      } finally {
        await setRegistration(false);
      }
    });

    it('mails a registration link only with the right captcha', async () => {
      await setRegistration(true);
      try {
        const agent = agentFor(t);
        const email = `capreg${unique()}@example.com`;
        const choice = await agent.get('/register/').expect(200);
        await sendPastCaptcha(agent, choice.text, 'register-email', '/register/email/', { email }, mails);
        expect(mailedPath(email, '/register/')).toContain('email_token=');
      } finally {
        await setRegistration(false);
      }
    });

    it('resets a password by an SMS code once the captcha is answered', async () => {
      const mobile = nextMobile();
      const user = await createUser(t, { mobile });
      const agent = agentFor(t);
      const choice = await agent.get('/reset-password/').expect(200);
      expect(choice.text).toContain('id="reset-sms-captcha"');
      const fields = { username: user.username, mobile };
      const sent = await sendPastCaptcha(
        agent,
        choice.text,
        'reset-sms',
        '/reset-password/sms/',
        fields,
        texts,
      );
      const done = await post(agent, '/reset-password/', sent.text, {
        mobile,
        code: sms.lastCodeTo(mobile),
        new_password: 'Cap-reset-2026-s',
      });
      expect(done.status).toBe(200);
      expect(done.text).toContain('Your password was reset');
      await login(t.http, { username: user.username, password: 'Cap-reset-2026-s' });
    });

    it('mails a reset link only with the right captcha, and says so in Chinese too', async () => {
      const email = `capreset${unique()}@example.com`;
      await createUser(t, { private_email: email });
      const agent = agentFor(t);
      const choice = await agent.get('/reset-password/').set('Accept-Language', 'zh-CN').expect(200);
      expect(choice.text).toContain('图形验证码');
      const key = captchaKeyOf(choice.text, 'reset-email');
      const answer = await captchaAnswerOf(t, key);
      const wrong = await agent
        .post('/reset-password/email/')
        .set('Accept-Language', 'zh-CN')
        .type('form')
        .send({ csrf: csrfOf(choice.text), email, captcha_key: key, captcha: 'zz' });
      expect(wrong.status).toBe(400);
      expect(wrong.text).toContain('图形验证码错误');
      // The right answer to a picture already answered wrong no longer counts.
      const reused = await post(agent, '/reset-password/email/', choice.text, {
        email,
        captcha_key: key,
        captcha: answer,
      });
      expect(reused.status).toBe(400);
      expect(smtp.mails.some((m) => m.to.includes(email))).toBe(false);
      await sendPastCaptcha(agent, reused.text, 'reset-email', '/reset-password/email/', { email }, mails);
      expect(mailedPath(email, '/reset-password/')).toContain('email_token=');
    });

    it('activates an invitation by an SMS code once the captcha is answered', async () => {
      const mobile = nextMobile();
      const invitee = await createUser(t, { mobile });
      const invitation = await t.http
        .post(`${API}/invitation/user/${invitee.username}/`)
        .set(await auth())
        .send({})
        .expect(200);
      const key = (invitation.body as { key: string }).key;
      const agent = agentFor(t);
      const choice = await agent.get(`/activate/?key=${encodeURIComponent(key)}`).expect(200);
      const sent = await sendPastCaptcha(
        agent,
        choice.text,
        'activate-sms',
        '/activate/sms/',
        { key },
        texts,
      );
      const done = await post(agent, '/activate/', sent.text, {
        key,
        mobile,
        code: sms.lastCodeTo(mobile),
        password: 'Cap-activ-2026-t',
      });
      expect(done.status).toBe(200);
      expect(done.text).toContain('Your account is active');
      await login(t.http, { username: invitee.username, password: 'Cap-activ-2026-t' });
    });
  });

  (testDatabaseKind() === 'sqlite' ? describe : describe.skip)('in a browser', () => {
    let chrome: Browser;
    let base: string;
    beforeAll(async () => {
      ({ base, browser: chrome } = await openBrowser(t));
    });
    afterAll(() => chrome.close());

    /** The mailed link, rebased on the listening app. */
    const linkTo = (address: string, path: string) => `${base}${mailedPath(address, path)}`;

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
    it('shows the captcha picture on the reset page under the strict policy, and mails once it is answered', async () => {
      await setCaptcha(t, { email: true });
      try {
        const email = `capview${unique()}@example.com`;
        await createUser(t, { private_email: email });
        const { page, cspErrors } = await newPage();
        await page.goto(`${base}/reset-password/`);
        const loaded = await page.$eval(
          '#reset-email img.captcha',
          (img) => (img as unknown as { naturalWidth: number }).naturalWidth,
        );
        expect(loaded).toBeGreaterThan(0);
        const key = (await page.getAttribute('#reset-email input[name=captcha_key]', 'value')) as string;
        await page.fill('#reset-email-email', email);
        await page.fill('#reset-email-captcha', await captchaAnswerOf(t, key));
        await page.click('#reset-email button[type=submit]');
        await page.waitForSelector('.notice');
        expect(mailedPath(email, '/reset-password/')).toContain('email_token=');
        expect(cspErrors).toEqual([]);
        await page.context().close();
      } finally {
        await setCaptcha(t, { email: false });
      }
    });
  });
});
