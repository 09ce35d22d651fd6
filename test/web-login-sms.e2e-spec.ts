import type { Browser, Page } from 'playwright-core';
import { openBrowser } from './harness/browser';
import { AliyunSmsFake } from './harness/aliyun-sms-fake';
import { captchaAnswerOf, captchaKeyOf, setCaptcha as setCaptchaOf } from './harness/captcha';
import { browser, csrfOf, pkce, REDIRECT, registerApp, tokenRequest } from './harness/oauth';
import { API, createTestApp, createUser, testDatabaseKind, type TestApp } from './harness/test-app';

/**
 * The sign-in page's other ways in and its guards: mobile + SMS code (through the lifecycle service and
 * the loopback Aliyun fake), and the image captcha that the REST login's rule asks for after the
 * configured number of failures. HTTP cases on both databases; the browser ones on SQLite.
 */
describe('sign-in page: SMS code and captcha', () => {
  let t: TestApp;
  let sms: AliyunSmsFake;
  let mobiles = 0;
  const nextMobile = () => `1390000${String(process.pid % 1000).padStart(3, '0')}${mobiles++ % 10}`;
  const admin = async () => ({ Authorization: `Token ${await t.adminToken()}` });
  const captchaAnswer = (key: string) => captchaAnswerOf(t, key);
  const setCaptcha = (captcha: Record<string, unknown>) => setCaptchaOf(t, captcha);

  beforeAll(async () => {
    sms = new AliyunSmsFake();
    t = await createTestApp({
      ALIYUN_SMS_ENDPOINT: await sms.start(),
      LOGIN_FREE_FAILURES: '10',
      LOGIN_DELAY_BASE_MS: '0',
    });
    await t.http
      .patch(`${API}/config/`)
      .set(await admin())
      .send({
        account_config: { allow_mobile: true },
        sms_config: sms.siteConfig(),
      })
      .expect(200);
  });
  afterAll(async () => {
    await t.close();
    await sms.stop();
  });

  describe('over HTTP', () => {
    it('signs in with a code sent to the mobile, and refuses a wrong code', async () => {
      const mobile = nextMobile();
      const user = await createUser(t, { mobile });
      const agent = browser(t);
      const page = await agent.get('/login/?next=/profile/').expect(200);
      expect(page.text).toContain('id="sms-send"');
      const sent = await agent
        .post('/login/sms/send/?next=/profile/')
        .type('form')
        .send({ csrf: csrfOf(page.text), mobile });
      expect(sent.status).toBe(200);
      expect(sent.text).toContain('id="sms-login"');
      const code = sms.lastCodeTo(mobile);
      const wrong = await agent
        .post('/login/sms/?next=/profile/')
        .type('form')
        .send({ csrf: csrfOf(sent.text), mobile, code: code === '000000' ? '111111' : '000000' });
      expect(wrong.status).toBe(400);
      expect(wrong.text).toContain('role="alert"');
      expect(wrong.headers['set-cookie']?.toString() ?? '').not.toContain('spauthn=');
      const ok = await agent
        .post('/login/sms/?next=/profile/')
        .type('form')
        .send({ csrf: csrfOf(sent.text), mobile, code });
      expect(ok.status).toBe(303);
      expect(ok.headers.location).toBe('/profile/');
      const profile = await agent.get('/profile/').expect(200);
      expect(profile.text).toContain(user.username);
      // The code was used up by that sign-in.
      const other = browser(t);
      const form = await other.get('/login/').expect(200);
      const again = await other
        .post('/login/sms/')
        .type('form')
        .send({ csrf: csrfOf(form.text), mobile, code });
      expect(again.status).toBe(400);
      expect(again.headers['set-cookie']?.toString() ?? '').not.toContain('spauthn=');
    });

    it('takes a username, an e-mail or a mobile number with the password in the one field', async () => {
      const mobile = nextMobile();
      const user = await createUser(t, { mobile, private_email: `p${mobiles}x${process.pid}@example.com` });
      for (const identifier of [user.username, mobile, `p${mobiles}x${process.pid}@example.com`]) {
        const agent = browser(t);
        const form = await agent.get('/login/').expect(200);
        const res = await agent
          .post('/login/')
          .type('form')
          .send({ csrf: csrfOf(form.text), username: identifier, password: user.password });
        expect([identifier, res.status]).toEqual([identifier, 303]);
      }
    });

    it('refuses the SMS forms without the browser’s CSRF token, sending nothing and opening no session', async () => {
      const mobile = nextMobile();
      await createUser(t, { mobile });
      const agent = browser(t);
      const token = csrfOf((await agent.get('/login/').expect(200)).text);
      const before = sms.sent.length;
      const forged = await browser(t).post('/login/sms/send/').type('form').send({ csrf: token, mobile });
      expect(forged.status).toBe(403);
      const missing = await agent.post('/login/sms/send/').type('form').send({ mobile });
      expect(missing.status).toBe(403);
      expect(sms.sent.length).toBe(before);
      await agent.post('/login/sms/send/').type('form').send({ csrf: token, mobile }).expect(200);
      const code = sms.lastCodeTo(mobile);
      const forgedLogin = await browser(t)
        .post('/login/sms/')
        .type('form')
        .send({ csrf: token, mobile, code });
      expect(forgedLogin.status).toBe(403);
      expect(forgedLogin.headers['set-cookie']?.toString() ?? '').not.toContain('spauthn=');
    });

    it('sends nothing to a number no account holds, answering the same', async () => {
      const agent = browser(t);
      const token = csrfOf((await agent.get('/login/').expect(200)).text);
      const before = sms.sent.length;
      const res = await agent
        .post('/login/sms/send/')
        .type('form')
        .send({ csrf: token, mobile: nextMobile() });
      expect(res.status).toBe(200);
      expect(res.text).toContain('id="sms-login"');
      expect(sms.sent.length).toBe(before);
    });

    it('asks for the captcha after the configured failures, and accepts the right password only with it', async () => {
      await setCaptcha({ login_failures: 2 });
      try {
        const user = await createUser(t);
        const agent = browser(t);
        const first = await agent.get('/login/').expect(200);
        expect(first.text).not.toContain('name="captcha"');
        const post = (text: string, fields: Record<string, string>) =>
          agent
            .post('/login/')
            .type('form')
            .send({ csrf: csrfOf(text), username: user.username, ...fields });
        const one = await post(first.text, { password: 'Wrong-pass-1' });
        expect(one.status).toBe(401);
        expect(one.text).not.toContain('name="captcha"');
        const two = await post(one.text, { password: 'Wrong-pass-2' });
        expect(two.status).toBe(401);
        expect(two.text).toContain('name="captcha"');
        // The right password without the captcha is refused, and the page asks again.
        const without = await post(two.text, { password: user.password });
        expect(without.status).toBe(400);
        expect(without.headers['set-cookie']?.toString() ?? '').not.toContain('spauthn=');
        const key = captchaKeyOf(without.text);
        expect(without.text).toContain(`src="/siteapi/oneid/service/captcha/image/${key}/"`);
        const wrongAnswer = await post(without.text, {
          password: user.password,
          captcha_key: key,
          captcha: 'zz',
        });
        expect(wrongAnswer.status).toBe(400);
        const next = captchaKeyOf(wrongAnswer.text);
        const ok = await post(wrongAnswer.text, {
          password: user.password,
          captcha_key: next,
          captcha: await captchaAnswer(next),
        });
        expect(ok.status).toBe(303);
      } finally {
        await setCaptcha({ login_failures: 0 });
      }
    });

    it('asks for a captcha before sending a code when the site says so', async () => {
      await setCaptcha({ sms: true });
      try {
        const mobile = nextMobile();
        await createUser(t, { mobile });
        const agent = browser(t);
        const page = await agent.get('/login/').expect(200);
        expect(page.text).toContain('id="sms-captcha"');
        const before = sms.sent.length;
        const refused = await agent
          .post('/login/sms/send/')
          .type('form')
          .send({ csrf: csrfOf(page.text), mobile });
        expect(refused.status).toBe(400);
        expect(sms.sent.length).toBe(before);
        const key = captchaKeyOf(refused.text);
        await agent
          .post('/login/sms/send/')
          .type('form')
          .send({ csrf: csrfOf(refused.text), mobile, captcha_key: key, captcha: await captchaAnswer(key) })
          .expect(200);
        expect(sms.sent.length).toBe(before + 1);
      } finally {
        await setCaptcha({ sms: false });
      }
    });
  });

  (testDatabaseKind() === 'sqlite' ? describe : describe.skip)('in a browser', () => {
    let chrome: Browser;
    let base: string;
    beforeAll(async () => {
      ({ base, browser: chrome } = await openBrowser(t));
    });
    afterAll(() => chrome.close());

    async function newPage(): Promise<{ page: Page; callbacks: string[]; cspErrors: string[] }> {
      const context = await chrome.newContext({ locale: 'en-US' });
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

    it('signs in with an SMS code, asks for consent and lands on the callback with a code', async () => {
      const client = await registerApp(t);
      const mobile = nextMobile();
      await createUser(t, { mobile });
      const { page, callbacks, cspErrors } = await newPage();
      const { verifier, challenge } = pkce();
      await page.goto(
        `${base}/oauth/authorize/?${new URLSearchParams({
          client_id: client.clientId,
          response_type: 'code',
          redirect_uri: REDIRECT,
          scope: 'openid profile',
          state: 'sms-state',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }).toString()}`,
      );
      expect(await page.textContent('h1')).toBe('Sign in');
      await page.fill('#sms-mobile', mobile);
      await page.click('#send-code');
      await page.waitForSelector('#sms-code');
      expect(await page.textContent('.notice')).toContain('we sent it a code');
      await page.fill('#sms-code', sms.lastCodeTo(mobile));
      await page.click('#sms-sign-in');
      await page.waitForSelector('#allow');
      await page.click('#allow');
      await page.waitForURL(/^https:\/\/rp\.example\/cb/);
      const callback = new URL(callbacks[0]);
      expect(callback.searchParams.get('state')).toBe('sms-state');
      const token = await tokenRequest(t, client).send({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') ?? '',
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      });
      expect(token.status).toBe(200);
      expect(cspErrors).toEqual([]);
      await page.context().close();
    });

    it('shows the captcha after failed attempts and signs in once it is answered', async () => {
      await setCaptcha({ login_failures: 2 });
      try {
        const user = await createUser(t);
        const { page, cspErrors } = await newPage();
        await page.goto(`${base}/login/`);
        for (const password of ['Wrong-pass-1', 'Wrong-pass-2']) {
          await page.fill('#username', user.username);
          await page.fill('#password', password);
          await page.click('#sign-in');
          await page.waitForSelector('.error');
        }
        await page.waitForSelector('img.captcha');
        const loaded = await page.$eval(
          'img.captcha',
          (img) => (img as unknown as { naturalWidth: number }).naturalWidth,
        );
        expect(loaded).toBeGreaterThan(0);
        const key = (await page.getAttribute('input[name=captcha_key]', 'value')) as string;
        await page.fill('#username', user.username);
        await page.fill('#password', user.password);
        await page.fill('#captcha', await captchaAnswer(key));
        await page.click('#sign-in');
        await page.waitForURL(`${base}/workbench/`);
        expect(cspErrors).toEqual([]);
        await page.context().close();
      } finally {
        await setCaptcha({ login_failures: 0 });
      }
    });
  });
});
