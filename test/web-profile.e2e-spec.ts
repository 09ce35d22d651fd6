import type TestAgent from 'supertest/lib/agent';
import { AliyunSmsFake } from './harness/aliyun-sms-fake';
import { browser, csrfOf, signInThroughPage } from './harness/oauth';
import { SmtpSink } from './harness/smtp-sink';
import { API, createTestApp, createUser, login, type TestApp } from './harness/test-app';

/**
 * The profile page's contact changes (a mailed link for the e-mail, an SMS code for the mobile, both
 * through the lifecycle service with the current password), its password change (the lifecycle
 * service's, which ends every session) and its list of signed-in devices, each of which can be signed
 * out. Over HTTP, on both databases.
 */
describe('profile page', () => {
  let t: TestApp;
  let sms: AliyunSmsFake;
  let smtp: SmtpSink;
  let seq = 0;
  const admin = async () => ({ Authorization: `Token ${await t.adminToken()}` });
  const unique = () => `${process.pid % 1000}${++seq}`;

  beforeAll(async () => {
    sms = new AliyunSmsFake();
    smtp = new SmtpSink();
    const [endpoint] = await Promise.all([sms.start(), smtp.start()]);
    t = await createTestApp({
      ALIYUN_SMS_ENDPOINT: endpoint,
      VERIFICATION_ADDRESS_HOURLY_LIMIT: '50',
      VERIFICATION_IP_HOURLY_LIMIT: '500',
    });
    await t.http
      .patch(`${API}/config/`)
      .set(await admin())
      .send({
        account_config: { allow_mobile: true, allow_email: true },
        sms_config: { ...sms.siteConfig(), template_contact_changed: 'SMS_300' },
        email_config: smtp.siteConfig(),
      })
      .expect(200);
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([sms.stop(), smtp.stop()]);
  });

  /** A browser signed in through the login page, on the profile page. */
  async function signedIn(
    user: { username: string; password: string },
    userAgent = 'Browser-A',
  ): Promise<{ agent: TestAgent; page: string }> {
    const agent = browser(t).set('User-Agent', userAgent);
    await signInThroughPage(agent, user);
    const page = await agent.get('/profile/').expect(200);
    return { agent, page: page.text };
  }

  /** The password form as a browser posts it. */
  const changePassword = (
    agent: TestAgent,
    page: string,
    fields: { password: string; new_password: string; confirm_password?: string },
  ) =>
    agent
      .post('/profile/password/')
      .type('form')
      .send({ csrf: csrfOf(page), confirm_password: fields.new_password, ...fields });

  /** How many password changes by the current password the audit log holds for this user. */
  const passwordChanges = async (username: string): Promise<number> => {
    const log = await t.http.get(`${API}/log/?subject=ucenter_reset_pwd&page_size=100`).set(await admin());
    const entries = (log.body as { results: { summary: string }[] }).results;
    return entries.filter((e) => e.summary === `${username} 重置密码 (旧密码)`).length;
  };

  /** Whether the API signs the user in with this password. */
  const signsIn = async (username: string, password: string): Promise<boolean> =>
    (await t.http.post(`${API}/ucenter/login/`).send({ username, password })).status === 200;

  /** Nothing of a refused change: the old password still signs in, the new one does not, this browser stays. */
  async function expectUnchanged(
    agent: TestAgent,
    user: { username: string; password: string },
    refused: string,
  ): Promise<void> {
    await agent.get('/profile/').expect(200);
    expect(await signsIn(user.username, refused)).toBe(false);
    expect(await signsIn(user.username, user.password)).toBe(true);
    expect(await passwordChanges(user.username)).toBe(0);
  }

  it('changes the e-mail address through the mailed link and the current password', async () => {
    const user = await createUser(t, { private_email: `old${unique()}@example.com` });
    const { agent, page } = await signedIn(user);
    expect(page).toContain('id="change-email"');
    const email = `new${unique()}@example.com`;
    const wrong = await agent
      .post('/profile/email/send/')
      .type('form')
      .send({ csrf: csrfOf(page), email, password: 'not-the-password' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('role="alert"');
    expect(smtp.mails.some((m) => m.to.includes(email))).toBe(false);
    const sent = await agent
      .post('/profile/email/send/')
      .type('form')
      .send({ csrf: csrfOf(page), email, password: user.password });
    expect(sent.status).toBe(200);
    expect(sent.text).toContain('class="notice"');
    const token = smtp.lastTokenTo(email);
    // The link opens a confirmation page on /profile/email/ (the lifecycle mail points there).
    const mail = [...smtp.mails].reverse().find((m) => m.to.includes(email));
    expect(mail?.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=')).toContain(
      `http://arbor.test/profile/email/?email_token=${token}`,
    );
    const confirm = await agent.get(`/profile/email/?email_token=${token}`).expect(200);
    expect(confirm.text).toContain(email);
    // Another signed-in user cannot use it.
    const other = await signedIn(await createUser(t));
    await other.agent.get(`/profile/email/?email_token=${token}`).expect(400);
    const done = await agent
      .post('/profile/email/')
      .type('form')
      .send({ csrf: csrfOf(confirm.text), email_token: token, password: user.password });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/profile/?done=email');
    const after = await agent.get('/profile/?done=email').expect(200);
    expect(after.text).toContain(email);
    const me = await t.http.get(`${API}/user/${user.username}/`).set(await admin());
    expect(me.body.private_email).toBe(email);
    // Used once.
    const again = await agent
      .post('/profile/email/')
      .type('form')
      .send({ csrf: csrfOf(confirm.text), email_token: token, password: user.password });
    expect(again.status).toBe(400);
  });

  it('sends a signed-out browser from the mailed link to sign in and back', async () => {
    const res = await browser(t).get('/profile/email/?email_token=abc').expect(303);
    expect(res.headers.location).toBe(
      `/login/?next=${encodeURIComponent('/profile/email/?email_token=abc')}`,
    );
  });

  it('changes the mobile with a code sent to the new number, telling the old one', async () => {
    const oldMobile = `1370000${unique().padStart(4, '0').slice(-4)}`;
    const user = await createUser(t, { mobile: oldMobile });
    const { agent, page } = await signedIn(user);
    const mobile = `1380000${unique().padStart(4, '0').slice(-4)}`;
    const sent = await agent
      .post('/profile/mobile/send/')
      .type('form')
      .send({ csrf: csrfOf(page), mobile, password: user.password });
    expect(sent.status).toBe(200);
    expect(sent.text).toContain('id="confirm-mobile"');
    const code = sms.lastCodeTo(mobile);
    const wrongCode = await agent
      .post('/profile/mobile/')
      .type('form')
      .send({
        csrf: csrfOf(sent.text),
        mobile,
        code: code === '000000' ? '111111' : '000000',
        password: user.password,
      });
    expect(wrongCode.status).toBe(400);
    expect(wrongCode.text).toContain('id="confirm-mobile"');
    const done = await agent
      .post('/profile/mobile/')
      .type('form')
      .send({ csrf: csrfOf(sent.text), mobile, code, password: user.password });
    expect(done.status).toBe(303);
    const me = await t.http.get(`${API}/user/${user.username}/`).set(await admin());
    expect(me.body.mobile).toBe(mobile);
    expect(sms.sent.some((s) => s.phoneNumbers === oldMobile && s.templateCode === 'SMS_300')).toBe(true);
  });

  it('changes the password with the current one, signing out every device and asking to sign in again', async () => {
    const user = await createUser(t);
    const apiToken = await login(t.http, { username: user.username, password: user.password });
    const other = await signedIn(user, 'Browser-B');
    const { agent, page } = await signedIn(user, 'Browser-A');
    expect(page).toContain('id="change-password"');
    const fresh = `Fresh-${unique()}-secret`;
    const done = await changePassword(agent, page, { password: user.password, new_password: fresh });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/login/?next=%2Fprofile%2F&done=password');
    // The lifecycle service ends every session and token of the user: this browser signs in again, told why.
    const told = await agent.get(done.headers.location).expect(200);
    expect(told.text).toContain('<p class="notice" role="status">密码已修改，所有设备都已退出登录。');
    expect(told.text).toContain('id="password-login"');
    for (const browser of [agent, other.agent]) {
      const gone = await browser.get('/profile/');
      expect(gone.status).toBe(303);
      expect(gone.headers.location).toContain('/login/');
    }
    await t.http.get(`${API}/auth/token/`).set('Authorization', `Token ${apiToken}`).expect(401);
    expect(await signsIn(user.username, user.password)).toBe(false);
    expect(await signsIn(user.username, fresh)).toBe(true);
    // Signing in again on this page goes back to the profile.
    const again = await agent
      .post('/login/?next=%2Fprofile%2F')
      .type('form')
      .send({ csrf: csrfOf(told.text), username: user.username, password: fresh });
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe('/profile/');
    await agent.get('/profile/').expect(200);
    expect(await passwordChanges(user.username)).toBe(1);
  });

  it('refuses a wrong current password in either language, changing nothing', async () => {
    const user = await createUser(t);
    const { agent, page } = await signedIn(user);
    const fresh = `Fresh-${unique()}-secret`;
    const zh = await changePassword(agent, page, { password: 'not-the-password', new_password: fresh });
    expect(zh.status).toBe(400);
    expect(zh.text).toContain('<p class="error" role="alert">当前密码错误</p>');
    expect(zh.text).toContain('id="change-password"');
    const en = await changePassword(agent.set('Accept-Language', 'en'), zh.text, {
      password: '',
      new_password: fresh,
    });
    expect(en.status).toBe(400);
    expect(en.text).toContain('<p class="error" role="alert">Your current password is wrong</p>');
    await expectUnchanged(agent, user, fresh);
  });

  it('refuses new passwords that differ or that the password policy refuses, changing nothing', async () => {
    const user = await createUser(t);
    const { agent, page } = await signedIn(user);
    const fresh = `Fresh-${unique()}-secret`;
    const mismatch = await changePassword(agent.set('Accept-Language', 'en'), page, {
      password: user.password,
      new_password: fresh,
      confirm_password: `${fresh}!`,
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.text).toContain('<p class="error" role="alert">The two new passwords do not match</p>');
    const short = await changePassword(agent, page, { password: user.password, new_password: 'Ab-1' });
    expect(short.status).toBe(400);
    expect(short.text).toContain(
      'The new password does not meet the password rules: Ensure the password has at least 8 characters.',
    );
    const named = `${user.username}-Secret`;
    const zh = await changePassword(agent.set('Accept-Language', 'zh-CN'), page, {
      password: user.password,
      new_password: named,
    });
    expect(zh.status).toBe(400);
    expect(zh.text).toContain('新密码不符合密码规则：The password must not contain the username.');
    for (const refused of [fresh, 'Ab-1', named]) await expectUnchanged(agent, user, refused);
  });

  it('refuses a password change without the browser’s CSRF token, changing nothing', async () => {
    const user = await createUser(t);
    const { agent } = await signedIn(user);
    const fresh = `Fresh-${unique()}-secret`;
    const fields = { password: user.password, new_password: fresh, confirm_password: fresh };
    for (const csrf of [{}, { csrf: 'forged' }]) {
      const res = await agent
        .post('/profile/password/')
        .type('form')
        .send({ ...fields, ...csrf });
      expect(res.status).toBe(403);
      expect(res.text).toContain('role="alert"');
    }
    await expectUnchanged(agent, user, fresh);
  });

  it('shows no notice for a done key it does not know, inherited names included', async () => {
    const { agent } = await signedIn(await createUser(t));
    for (const done of ['nosuch', 'constructor', 'toString']) {
      const profile = await agent.get(`/profile/?done=${done}`).expect(200);
      expect(profile.text).not.toContain('class="notice"');
      const login = await browser(t).get(`/login/?done=${done}`).expect(200);
      expect(login.text).not.toContain('class="notice"');
    }
  });

  it('refuses every profile form without the browser’s CSRF token, changing and sending nothing', async () => {
    const user = await createUser(t);
    const { agent } = await signedIn(user);
    const mails = smtp.mails.length;
    const texts = sms.sent.length;
    for (const [path, body] of [
      ['/profile/', { name: 'Forged' }],
      ['/profile/email/send/', { email: `x${unique()}@example.com`, password: user.password }],
      ['/profile/mobile/send/', { mobile: '13912345678', password: user.password }],
      ['/profile/sessions/1/revoke/', {}],
    ] as const) {
      const res = await agent
        .post(path)
        .type('form')
        .send({ ...body, csrf: 'forged' });
      expect([path, res.status]).toEqual([path, 403]);
    }
    expect(smtp.mails.length).toBe(mails);
    expect(sms.sent.length).toBe(texts);
    const me = await t.http.get(`${API}/user/${user.username}/`).set(await admin());
    expect(me.body.name).toBe(user.username);
  });

  it('lists the signed-in devices and signs one out, but never another user’s', async () => {
    const user = await createUser(t);
    const apiToken = await login(t.http, { username: user.username, password: user.password });
    const other = await signedIn(user, 'Browser-B');
    const { agent, page } = await signedIn(user, 'Browser-A');
    expect(page).toContain('Browser-B');
    expect(page).toContain('Browser-A');
    const ids = [...page.matchAll(/action="\/profile\/sessions\/(\d+)\/revoke\/"/g)].map((m) => m[1]);
    expect(ids).toHaveLength(2); // Browser-B and the API login; this browser has no button.
    // Someone else's session id is not found for this user, and stays.
    const stranger = await signedIn(await createUser(t), 'Browser-C');
    const strangerId = /id="session-(\d+)"/.exec(stranger.page)?.[1] as string;
    await agent
      .post(`/profile/sessions/${strangerId}/revoke/`)
      .type('form')
      .send({ csrf: csrfOf(page) })
      .expect(404);
    await stranger.agent.get('/profile/').expect(200);
    // Signing out Browser-B ends it; the API token and this browser stay.
    const bId = new RegExp(`<li id="session-(\\d+)">\\s*<span>Browser-B`).exec(page)?.[1] as string;
    const revoked = await agent
      .post(`/profile/sessions/${bId}/revoke/`)
      .type('form')
      .send({ csrf: csrfOf(page) });
    expect(revoked.status).toBe(303);
    const gone = await other.agent.get('/profile/');
    expect(gone.status).toBe(303);
    expect(gone.headers.location).toContain('/login/');
    await t.http.get(`${API}/auth/token/`).set('Authorization', `Token ${apiToken}`).expect(200);
    const after = await agent.get('/profile/?done=revoked').expect(200);
    expect(after.text).not.toContain('Browser-B');
    const log = await t.http.get(`${API}/log/?subject=ucenter_logout`).set(await admin());
    expect(JSON.stringify(log.body)).toContain(user.username);
  });
});
