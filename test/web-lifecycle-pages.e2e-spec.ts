import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { AliyunSmsFake } from './harness/aliyun-sms-fake';
import { captchaAnswerOf, captchaKeyOf, setCaptcha } from './harness/captcha';
import { browser as agentFor, csrfOf } from './harness/oauth';
import { SmtpSink } from './harness/smtp-sink';
import { API, createTestApp, createUser, login, testDatabaseKind, type TestApp } from './harness/test-app';

const CHROMIUM = '/usr/bin/chromium';

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
  const nextMobile = () => `1370000${String(process.pid % 1000).padStart(3, '0')}${seq++ % 10}`;
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
    const [smtpPort, smsEndpoint] = await Promise.all([smtp.start(), sms.start()]);
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
        email_config: {
          host: '127.0.0.1',
          port: smtpPort,
          tls: false,
          access_key: smtp.user,
          access_secret: smtp.password,
          sender: 'noreply@arbor.test',
        },
        sms_config: {
          access_key: sms.accessKeyId,
          access_secret: 'aliyun-secret-value',
          signature: 'Arbor',
          template_code: 'SMS_100',
        },
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
    beforeAll(() => setCaptcha(t, { sms: true, email: true }));
    afterAll(() => setCaptcha(t, { sms: false, email: false }));

    /** Posts a send form of `page` with the captcha answered right, or with `answer`. */
    async function sendFrom(
      agent: ReturnType<typeof agentFor>,
      page: string,
      formId: string,
      action: string,
      fields: Record<string, string>,
      answer?: string,
    ) {
      const key = captchaKeyOf(page, formId);
      return agent
        .post(action)
        .set('Accept-Language', 'en')
        .type('form')
        .send({
          csrf: csrfOf(page),
          ...fields,
          captcha_key: key,
          captcha: answer ?? (await captchaAnswerOf(t, key)),
        });
    }

    it('registers by an SMS code once the captcha is answered, sending nothing on a wrong answer', async () => {
      await setRegistration(true);
      try {
        const agent = agentFor(t);
        const mobile = nextMobile();
        const choice = await agent.get('/register/').expect(200);
        expect(choice.text).toContain('id="register-sms-captcha"');
        expect(choice.text).toContain('id="register-email-captcha"');
        const before = sms.sent.length;
        const missing = await agent
          .post('/register/sms/')
          .set('Accept-Language', 'en')
          .type('form')
          .send({ csrf: csrfOf(choice.text), mobile });
        expect(missing.status).toBe(400);
        expect(missing.text).toContain(WRONG);
        const wrong = await sendFrom(agent, missing.text, 'register-sms', '/register/sms/', { mobile }, 'zz');
        expect(wrong.status).toBe(400);
        expect(wrong.text).toContain(WRONG);
        // The form again, with a new picture: the one answered wrong is used up.
        expect(wrong.text).toContain('id="register-sms"');
        expect(captchaKeyOf(wrong.text, 'register-sms')).not.toBe(captchaKeyOf(missing.text, 'register-sms'));
        expect(sms.sent.length).toBe(before);
        const sent = await sendFrom(agent, wrong.text, 'register-sms', '/register/sms/', { mobile });
        expect(sent.status).toBe(200);
        expect(sent.text).toContain('we sent it a code');
        expect(sms.sent.length).toBe(before + 1);
        const username = `cap${unique()}`;
        const done = await agent
          .post('/register/')
          .type('form')
          .send({
            csrf: csrfOf(sent.text),
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
        const wrong = await sendFrom(
          agent,
          choice.text,
          'register-email',
          '/register/email/',
          { email },
          'zz',
        );
        expect(wrong.status).toBe(400);
        expect(wrong.text).toContain(WRONG);
        expect(wrong.text).toContain('id="register-email"');
        expect(smtp.mails.some((m) => m.to.includes(email))).toBe(false);
        const sent = await sendFrom(agent, wrong.text, 'register-email', '/register/email/', { email });
        expect(sent.status).toBe(200);
        expect(mailedPath(email, '/register/')).toContain('email_token=');
      } finally {
        await setRegistration(false);
      }
    });

    it('resets a password by an SMS code once the captcha is answered, sending nothing on a wrong answer', async () => {
      const mobile = nextMobile();
      const user = await createUser(t, { mobile });
      const agent = agentFor(t);
      const choice = await agent.get('/reset-password/').expect(200);
      expect(choice.text).toContain('id="reset-sms-captcha"');
      const before = sms.sent.length;
      const fields = { username: user.username, mobile };
      const wrong = await sendFrom(agent, choice.text, 'reset-sms', '/reset-password/sms/', fields, 'zz');
      expect(wrong.status).toBe(400);
      expect(wrong.text).toContain(WRONG);
      expect(wrong.text).toContain('id="reset-sms"');
      expect(sms.sent.length).toBe(before);
      const sent = await sendFrom(agent, wrong.text, 'reset-sms', '/reset-password/sms/', fields);
      expect(sent.status).toBe(200);
      expect(sms.sent.length).toBe(before + 1);
      const done = await agent
        .post('/reset-password/')
        .set('Accept-Language', 'en')
        .type('form')
        .send({
          csrf: csrfOf(sent.text),
          mobile,
          code: sms.lastCodeTo(mobile),
          new_password: 'Cap-reset-2026-s',
        });
      expect(done.status).toBe(200);
      expect(done.text).toContain('Your password was reset');
      await login(t.http, { username: user.username, password: 'Cap-reset-2026-s' });
    });

    it('mails a reset link only with the right captcha, in Chinese too', async () => {
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
      expect(smtp.mails.some((m) => m.to.includes(email))).toBe(false);
      // A right answer to a challenge already used up does not count.
      const reused = await agent
        .post('/reset-password/email/')
        .type('form')
        .send({ csrf: csrfOf(choice.text), email, captcha_key: key, captcha: answer });
      expect(reused.status).toBe(400);
      expect(smtp.mails.some((m) => m.to.includes(email))).toBe(false);
      const sent = await sendFrom(agent, wrong.text, 'reset-email', '/reset-password/email/', { email });
      expect(sent.status).toBe(200);
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
      const before = sms.sent.length;
      const wrong = await sendFrom(agent, choice.text, 'activate-sms', '/activate/sms/', { key }, 'zz');
      expect(wrong.status).toBe(400);
      expect(wrong.text).toContain(WRONG);
      expect(wrong.text).toContain('id="activate-sms"');
      expect(sms.sent.length).toBe(before);
      const sent = await sendFrom(agent, wrong.text, 'activate-sms', '/activate/sms/', { key });
      expect(sent.status).toBe(200);
      expect(sms.sent.length).toBe(before + 1);
      const done = await agent
        .post('/activate/')
        .set('Accept-Language', 'en')
        .type('form')
        .send({
          csrf: csrfOf(sent.text),
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
      await t.app.listen(0, '127.0.0.1');
      base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
      chrome = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
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
  });
});
