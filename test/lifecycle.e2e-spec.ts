import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { DataSource } from 'typeorm';
import { MasterKey } from '../src/common/crypto/master-key';
import { SecretBox } from '../src/common/crypto/secret-box';
import { SchedulesService } from '../src/modules/jobs/schedules.service';
import { TasksService } from '../src/modules/jobs/tasks.service';
import { PURGE_EXPIRED_CRON, PURGE_EXPIRED_JOB } from '../src/modules/lifecycle/lifecycle-purge.service';
import { AliyunSmsFake } from './harness/aliyun-sms-fake';
import { SmtpSink } from './harness/smtp-sink';
import { ADMIN_PASSWORD, API, createTestApp, createUser, login, type TestApp } from './harness/test-app';

const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(64, 1),
]);

describe('self-service lifecycle, site configuration and storage', () => {
  let t: TestApp;
  let sms: AliyunSmsFake;
  let smtp: SmtpSink;
  let admin: string;
  let db: DataSource;
  const count = async (table: string): Promise<number> =>
    Number((await db.query<{ n: number | string }[]>(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
  const auth = () => ({ Authorization: `Token ${admin}` });
  const nextMinute = () => t.advanceClock(61_000);
  /** A fresh image captcha and its answer, read from the sealed row as only the server can. */
  const solvedCaptcha = async (): Promise<{ captcha_key: string; captcha: string }> => {
    const made = await t.http.get(`${API}/service/captcha/`).expect(200);
    const key = made.body.captcha_key as string;
    const [row] = await db.query<{ sealed: string }[]>(
      'SELECT answer_sealed AS sealed FROM captchas WHERE captcha_key = ?',
      [key],
    );
    return {
      captcha_key: key,
      captcha: new SecretBox(t.app.get(MasterKey).value, 'captcha').open(row.sealed),
    };
  };
  const smsToken = async (purpose: string, mobile: string, as?: string): Promise<string> => {
    const path = purpose === 'generic' ? 'service/sms/' : `service/sms/${purpose}/`;
    const req = t.http.get(`${API}/${path}`).query({ mobile, code: sms.lastCodeTo(mobile) });
    const res = await (as ? req.set('Authorization', `Token ${as}`) : req);
    expect(res.status).toBe(200);
    return res.body.sms_token as string;
  };

  beforeAll(async () => {
    sms = new AliyunSmsFake();
    smtp = new SmtpSink();
    const [endpoint, smtpPort] = await Promise.all([sms.start(), smtp.start()]);
    t = await createTestApp({
      ALIYUN_SMS_ENDPOINT: endpoint,
      FILE_STORAGE_DIR: mkdtempSync(join(tmpdir(), 'arbor-files-')),
      VERIFICATION_ADDRESS_HOURLY_LIMIT: '50',
      VERIFICATION_IP_HOURLY_LIMIT: '500',
    });
    db = t.app.get(DataSource);
    admin = await t.adminToken();
    const res = await t.http
      .patch(`${API}/config/`)
      .set(auth())
      .send({
        company_config: { name_cn: '树', fullname_cn: '树公司', color: '#00aa11' },
        account_config: { allow_register: true, allow_mobile: true, allow_email: true },
        sms_config: {
          access_key: sms.accessKeyId,
          access_secret: 'aliyun-secret-value',
          signature: 'Arbor',
          template_code: 'SMS_100',
          template_contact_changed: 'SMS_300',
        },
        email_config: {
          host: '127.0.0.1',
          port: smtpPort,
          tls: false,
          access_key: smtp.user,
          access_secret: smtp.password,
          sender: 'noreply@arbor.test',
        },
      });
    expect(res.status).toBe(200);
  });

  afterAll(async () => {
    await t.close();
    await Promise.all([sms.stop(), smtp.stop()]);
  });

  describe('site configuration', () => {
    it('never returns secrets, keeps them encrypted at rest, and audits each write', async () => {
      const res = await t.http.get(`${API}/config/`).set(auth());
      expect(res.status).toBe(200);
      expect(res.body.sms_config).toMatchObject({ access_key: sms.accessKeyId, is_valid: true });
      expect(res.body.sms_config).not.toHaveProperty('access_secret');
      expect(res.body.email_config).not.toHaveProperty('access_secret');
      expect(res.body.email_config.is_valid).toBe(true);
      expect(res.body.company_config.color).toBe('00aa11');
      const stored = JSON.stringify(await db.query('SELECT data FROM site_settings'));
      expect(stored).not.toContain('aliyun-secret-value');
      expect(stored).not.toContain(smtp.password);
      const log = await t.http.get(`${API}/log/?subject=config`).set(auth());
      expect(log.body.count).toBeGreaterThanOrEqual(1);
    });

    it('refuses SMTP settings the server rejects, saving nothing', async () => {
      const before = JSON.stringify(await db.query("SELECT data FROM site_settings WHERE section = 'email'"));
      const res = await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ email_config: { access_secret: 'wrong-password' } });
      expect(res.status).toBe(400);
      expect(res.body.email[0]).toBe('invalid');
      expect(JSON.stringify(await db.query("SELECT data FROM site_settings WHERE section = 'email'"))).toBe(
        before,
      );
    });

    it('is for admins only, and meta/ shows the public part to anyone', async () => {
      const user = await createUser(t);
      const token = await login(t.http, { username: user.username, password: user.password });
      expect((await t.http.get(`${API}/config/`).set('Authorization', `Token ${token}`)).status).toBe(403);
      const meta = await t.http.get(`${API}/meta/`);
      expect(meta.status).toBe(200);
      expect(meta.body.company_config.display_name).toBe('树公司');
      expect(meta.body.account_config).toMatchObject({
        support_mobile_register: true,
        support_email_register: true,
        support_github: false,
      });
      expect(JSON.stringify(meta.body)).not.toContain('access_key');
    });

    it('applies the configured password policy', async () => {
      expect(
        (
          await t.http
            .patch(`${API}/config/`)
            .set(auth())
            .send({ password_config: { min_length: 12 } })
        ).status,
      ).toBe(200);
      const res = await t.http
        .post(`${API}/user/`)
        .set(auth())
        .send({ user: { username: 'shortpw1', password: 'eleven-char' } });
      expect(res.status).toBe(400);
      expect(res.body.password).toEqual(['Ensure the password has at least 12 characters.']);
      await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ password_config: { min_length: 8 } });
    });
  });

  describe('SMS codes and registration by mobile', () => {
    const mobile = '13800000001';

    it('registers with a code read from the SMS the fake Aliyun received; the user lands in g_extern', async () => {
      const sent = await t.http.post(`${API}/service/sms/register/`).send({ mobile });
      expect(sent.status).toBe(201);
      expect(sent.body).toEqual({ message: 'sms has send' });
      const code = sms.lastCodeTo(mobile);
      expect(code).toMatch(/^\d{6}$/);
      const exchanged = await t.http.get(`${API}/service/sms/register/`).query({ mobile, code });
      expect(exchanged.status).toBe(200);
      expect(exchanged.body.sms_token).toMatch(/^[A-Za-z0-9]{24}$/);
      const res = await t.http
        .post(`${API}/ucenter/register/`)
        .send({ username: 'newbie1', password: 'violet-tractor-7', sms_token: exchanged.body.sms_token });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        username: 'newbie1',
        mobile,
        is_extern_user: true,
        origin_verbose: '手机注册',
      });
      expect(
        (await t.http.get(`${API}/auth/token/`).set('Authorization', `Token ${res.body.token}`)).status,
      ).toBe(200);
      // The token is used up.
      const again = await t.http
        .post(`${API}/ucenter/register/`)
        .send({ username: 'newbie2', password: 'violet-tractor-7', sms_token: exchanged.body.sms_token });
      expect(again.status).toBe(400);
      expect(again.body).toEqual({ sms_token: ['invalid'] });
      // Login by mobile + SMS code.
      nextMinute();
      await t.http.post(`${API}/service/sms/login/`).send({ mobile }).expect(201);
      const loginToken = await t.http
        .get(`${API}/service/sms/login/`)
        .query({ mobile, code: sms.lastCodeTo(mobile) });
      const signedIn = await t.http
        .post(`${API}/ucenter/login/`)
        .send({ mobile, sms_token: loginToken.body.sms_token });
      expect(signedIn.status).toBe(200);
      expect(signedIn.body.username).toBe('newbie1');
    });

    it('refuses wrong, expired, foreign and over-tried codes, and a duplicate mobile, writing nothing', async () => {
      const other = '13800000002';
      nextMinute();
      await t.http.post(`${API}/service/sms/register/`).send({ mobile: other }).expect(201);
      const code = sms.lastCodeTo(other);
      const wrong = code === '000000' ? '111111' : '000000';
      expect(
        (await t.http.get(`${API}/service/sms/register/`).query({ mobile: other, code: wrong })).body,
      ).toEqual({
        code: ['invalid'],
      });
      // Another purpose or another number does not take the code.
      expect((await t.http.get(`${API}/service/sms/login/`).query({ mobile: other, code })).status).toBe(400);
      expect(
        (await t.http.get(`${API}/service/sms/register/`).query({ mobile: '13800000003', code })).status,
      ).toBe(400);
      for (let i = 0; i < 4; i += 1) {
        await t.http.get(`${API}/service/sms/register/`).query({ mobile: other, code: wrong }).expect(400);
      }
      // Sixth attempt: even the right code is refused now.
      const sixth = await t.http.get(`${API}/service/sms/register/`).query({ mobile: other, code });
      expect(sixth.status).toBe(400);
      expect(sixth.body.code[0]).toBe('invalid');
      // Resend within 60 s is refused; after it, an expired code is refused.
      const soon = await t.http.post(`${API}/service/sms/register/`).send({ mobile: other });
      expect(soon.status).toBe(429);
      nextMinute();
      await t.http.post(`${API}/service/sms/register/`).send({ mobile: other }).expect(201);
      t.advanceClock(5 * 60_000 + 1000);
      const expired = await t.http
        .get(`${API}/service/sms/register/`)
        .query({ mobile: other, code: sms.lastCodeTo(other) });
      expect(expired.body).toEqual({ code: ['expired'] });
      // A taken number: the code goes out (no enumeration), registration says existed, nothing written.
      await t.http.post(`${API}/service/sms/register/`).send({ mobile: '13800000001' }).expect(201);
      const token = await t.http
        .get(`${API}/service/sms/register/`)
        .query({ mobile: '13800000001', code: sms.lastCodeTo('13800000001') });
      const users = await count('users');
      const dup = await t.http
        .post(`${API}/ucenter/register/`)
        .send({ username: 'dupmobile', password: 'violet-tractor-7', sms_token: token.body.sms_token });
      expect(dup.status).toBe(400);
      expect(dup.body).toEqual({ mobile: ['existed'] });
      expect(await count('users')).toBe(users);
    });

    it('does not reveal accounts: login and reset codes answer the same for unknown numbers', async () => {
      nextMinute();
      const before = sms.sent.length;
      const res = await t.http.post(`${API}/service/sms/login/`).send({ mobile: '13900000009' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ message: 'sms has send' });
      expect(sms.sent.length).toBe(before);
      const unknownReset = await t.http
        .post(`${API}/service/sms/reset_password/`)
        .send({ mobile: '13900000009', username: 'nobody1' });
      expect(unknownReset.status).toBe(201);
      expect(unknownReset.body).toEqual({ message: 'sms has send' });
      // A disabled account's number gets nothing either, and the answer is the same.
      const disabled = await createUser(t, { mobile: '13900000008' });
      await t.http
        .patch(`${API}/user/${disabled.username}/`)
        .set(auth())
        .send({ is_active: false })
        .expect(200);
      const disabledReset = await t.http
        .post(`${API}/service/sms/reset_password/`)
        .send({ mobile: '13900000008', username: disabled.username });
      expect(disabledReset.status).toBe(201);
      expect(disabledReset.body).toEqual({ message: 'sms has send' });
      expect(sms.sent.length).toBe(before);
    });

    it('turns Aliyun failures into clear errors and audit entries', async () => {
      nextMinute();
      sms.nextBusinessErrors.push('isv.BUSINESS_LIMIT_CONTROL');
      const throttled = await t.http.post(`${API}/service/sms/register/`).send({ mobile: '13800000004' });
      expect(throttled.status).toBe(429);
      await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ sms_config: { template_code: 'SMS_999' } })
        .expect(200);
      const bad = await t.http.post(`${API}/service/sms/register/`).send({ mobile: '13800000005' });
      expect(bad.status).toBe(400);
      expect(bad.body.sms[0]).toContain('isv.SMS_TEMPLATE_ILLEGAL');
      await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ sms_config: { template_code: 'SMS_100' } })
        .expect(200);
      const log = await t.http.get(`${API}/log/?subject=notify_failed`).set(auth());
      expect(log.body.count).toBeGreaterThanOrEqual(2);
    });

    it('refuses registration while it is closed', async () => {
      await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ account_config: { allow_register: false } })
        .expect(200);
      const users = await count('users');
      const res = await t.http
        .post(`${API}/ucenter/register/`)
        .send({ username: 'closed1', password: 'violet-tractor-7', sms_token: 'A'.repeat(24) });
      expect(res.status).toBe(403);
      expect(
        (await t.http.post(`${API}/service/sms/register/`).send({ mobile: '13800000006' })).body,
      ).toEqual({
        mobile: ['unsupported'],
      });
      expect(await count('users')).toBe(users);
      await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ account_config: { allow_register: true } })
        .expect(200);
    });
  });

  describe('e-mail links', () => {
    it('registers by e-mail and resets the password by a mailed link, ending other sessions', async () => {
      nextMinute();
      await t.http.post(`${API}/service/email/register/`).send({ email: 'Mia@Example.com' }).expect(201);
      const token = smtp.lastTokenTo('mia@example.com');
      expect((await t.http.get(`${API}/service/email/register/`).query({ email_token: token })).body).toEqual(
        {
          email: 'mia@example.com',
        },
      );
      const reg = await t.http
        .post(`${API}/ucenter/register/`)
        .send({ username: 'mia1', password: 'violet-tractor-7', email_token: token });
      expect(reg.status).toBe(201);
      expect(reg.body.origin_verbose).toBe('邮箱注册');
      nextMinute();
      await t.http
        .post(`${API}/service/email/reset_password/`)
        .send({ email: 'mia@example.com' })
        .expect(201);
      const reset = smtp.lastTokenTo('mia@example.com');
      expect(reset).not.toBe(token);
      const res = await t.http
        .patch(`${API}/ucenter/password/`)
        .send({ email: 'mia@example.com', email_token: reset, new_password: 'blue-window-2026' });
      expect(res.status).toBe(200);
      expect(
        (await t.http.get(`${API}/auth/token/`).set('Authorization', `Token ${reg.body.token}`)).status,
      ).toBe(401);
      await login(t.http, { username: 'mia1', password: 'blue-window-2026' });
      const reuse = await t.http
        .patch(`${API}/ucenter/password/`)
        .send({ email: 'mia@example.com', email_token: reset, new_password: 'green-window-2026' });
      expect(reuse.body).toEqual({ email_token: ['invalid'] });
    });

    it('changes the recovery address only with the current password and a link to the new one', async () => {
      const token = await login(t.http, { username: 'mia1', password: 'blue-window-2026' });
      const as = { Authorization: `Token ${token}` };
      nextMinute();
      const noPassword = await t.http
        .post(`${API}/service/email/update_email/`)
        .set(as)
        .send({ email: 'mia2@example.com' });
      expect(noPassword.body).toEqual({ password: ['required'] });
      await t.http
        .post(`${API}/service/email/update_email/`)
        .set(as)
        .send({ email: 'mia2@example.com', password: 'blue-window-2026' })
        .expect(201);
      const link = smtp.lastTokenTo('mia2@example.com');
      const withoutPassword = await t.http
        .patch(`${API}/ucenter/contact/`)
        .set(as)
        .send({ email_token: link });
      expect(withoutPassword.status).toBe(400);
      const done = await t.http
        .patch(`${API}/ucenter/contact/`)
        .set(as)
        .send({ email_token: link, password: 'blue-window-2026' });
      expect(done.body).toEqual({ private_email: 'mia2@example.com' });
      expect(
        smtp.mails.some((m) => m.to.includes('mia@example.com') && m.raw.includes('contact details changed')),
      ).toBe(true);
      // The profile cannot change the recovery address (D23).
      await t.http
        .patch(`${API}/ucenter/profile/`)
        .set(as)
        .send({ private_email: 'evil@example.com' })
        .expect(200);
      expect((await t.http.get(`${API}/ucenter/profile/`).set(as)).body.private_email).toBe(
        'mia2@example.com',
      );
    });
  });

  describe('invitations', () => {
    it('activates once by key and an SMS code; a reused or replaced key is refused', async () => {
      const invitee = await createUser(t, { mobile: '13700000001' });
      const first = await t.http.post(`${API}/invitation/user/${invitee.username}/`).set(auth()).send({});
      expect(first.status).toBe(200);
      const second = await t.http
        .post(`${API}/invitation/user/${invitee.username}/`)
        .set(auth())
        .send({ duration_minutes: 60 });
      expect(
        (await t.http.get(`${API}/ucenter/profile/invited/`).query({ key: first.body.key })).body,
      ).toEqual({
        key: ['invalid'],
      });
      const who = await t.http.get(`${API}/ucenter/profile/invited/`).query({ key: second.body.key });
      expect(who.body.username).toBe(invitee.username);
      nextMinute();
      await t.http.post(`${API}/service/sms/activate_user/`).send({ key: second.body.key }).expect(201);
      const code = sms.lastCodeTo('13700000001');
      const token = await t.http
        .get(`${API}/service/sms/activate_user/`)
        .query({ mobile: '13700000001', code });
      const activated = await t.http
        .patch(`${API}/ucenter/profile/invited/`)
        .send({ key: second.body.key, password: 'orange-kite-55', sms_token: token.body.sms_token });
      expect(activated.status).toBe(200);
      expect(activated.body.is_settled).toBe(true);
      await login(t.http, { username: invitee.username, password: 'orange-kite-55' });
      expect(
        (
          await t.http
            .post(`${API}/auth/invitation_key/`)
            .send({ key: second.body.key, mobile: '13700000001' })
        ).status,
      ).toBe(400);
      expect(
        (await t.http.post(`${API}/invitation/user/${invitee.username}/`).set(auth()).send({})).body,
      ).toEqual({
        invitee: ['has been settled'],
      });
    });

    it('expires, and auth/invitation_key/ signs an unsettled invitee in once', async () => {
      const invitee = await createUser(t, { mobile: '13700000002' });
      const inv = await t.http
        .post(`${API}/invitation/user/${invitee.username}/`)
        .set(auth())
        .send({ duration_minutes: 5 });
      t.advanceClock(6 * 60_000);
      expect((await t.http.get(`${API}/ucenter/profile/invited/`).query({ key: inv.body.key })).body).toEqual(
        {
          key: ['expired'],
        },
      );
      const fresh = await t.http.post(`${API}/invitation/user/${invitee.username}/`).set(auth()).send({});
      const wrongMobile = await t.http
        .post(`${API}/auth/invitation_key/`)
        .send({ key: fresh.body.key, mobile: '13700000009' });
      expect(wrongMobile.status).toBe(400);
      const ok = await t.http
        .post(`${API}/auth/invitation_key/`)
        .send({ key: fresh.body.key, mobile: '13700000002' });
      expect(ok.status).toBe(200);
      expect(ok.body.token).toMatch(/^[0-9a-f]{64}$/);
      expect(
        (
          await t.http
            .post(`${API}/auth/invitation_key/`)
            .send({ key: fresh.body.key, mobile: '13700000002' })
        ).status,
      ).toBe(400);
    });
  });

  describe('captcha', () => {
    it('guards code sending when the configuration asks for it', async () => {
      await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ captcha_config: { sms: true } })
        .expect(200);
      nextMinute();
      expect((await t.http.post(`${API}/service/sms/`).send({ mobile: '13600000001' })).body).toEqual({
        captcha: ['invalid'],
      });
      const made = await t.http.get(`${API}/service/captcha/`);
      expect(made.body.captcha_img).toBe(`/siteapi/oneid/service/captcha/image/${made.body.captcha_key}/`);
      const image = await t.http.get(made.body.captcha_img);
      expect(image.headers['content-type']).toBe('image/png');
      const wrong = await t.http
        .post(`${API}/service/captcha/`)
        .send({ captcha_key: made.body.captcha_key, captcha: 'x' });
      expect(wrong.status).toBe(400);
      expect(wrong.text).toBe('captcha is invalid');
      // A solved captcha lets the code go out.
      expect(
        (await t.http.post(`${API}/service/sms/`).send({ mobile: '13600000001', ...(await solvedCaptcha()) }))
          .status,
      ).toBe(201);
      expect(sms.lastCodeTo('13600000001')).toMatch(/^\d{6}$/);
      // A solved captcha is used up by the send it allowed.
      const once = await solvedCaptcha();
      nextMinute();
      await t.http
        .post(`${API}/service/sms/`)
        .send({ mobile: '13600000002', ...once })
        .expect(201);
      nextMinute();
      expect(
        (await t.http.post(`${API}/service/sms/`).send({ mobile: '13600000003', ...once })).body,
      ).toEqual({
        captcha: ['invalid'],
      });
      const wrongAnswer = await solvedCaptcha();
      expect(
        (
          await t.http
            .post(`${API}/service/sms/`)
            .send({ mobile: '13600000003', captcha_key: wrongAnswer.captcha_key, captcha: 'zzzz' })
        ).body,
      ).toEqual({ captcha: ['invalid'] });
      await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ captcha_config: { sms: false } })
        .expect(200);
    });

    it('is required at login once an account has failed the configured number of times', async () => {
      await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ captcha_config: { login_failures: 2 } })
        .expect(200);
      try {
        const user = await createUser(t);
        const attempt = (body: object) =>
          t.http.post(`${API}/ucenter/login/`).send({ username: user.username, ...body });
        // Below the threshold no captcha is asked for.
        expect((await attempt({ password: 'wrong-pass-1' })).status).toBe(400);
        expect((await attempt({ password: 'wrong-pass-2' })).status).toBe(400);
        // Now even the right password needs one; a refused captcha is not a password failure.
        const noCaptcha = await attempt({ password: user.password });
        expect(noCaptcha.status).toBe(400);
        expect(noCaptcha.body).toEqual({ captcha: ['invalid'] });
        const bad = await solvedCaptcha();
        expect(
          (await attempt({ password: user.password, captcha_key: bad.captcha_key, captcha: 'nope' })).body,
        ).toEqual({
          captcha: ['invalid'],
        });
        // A wrong answer used the challenge up.
        expect((await attempt({ password: user.password, ...bad })).body).toEqual({ captcha: ['invalid'] });
        // Unknown accounts are asked the same way, so the captcha reveals nothing.
        const ghost = { username: 'no-such-user-x', password: 'whatever-1' };
        await t.http.post(`${API}/ucenter/login/`).send(ghost).expect(400);
        await t.http.post(`${API}/ucenter/login/`).send(ghost).expect(400);
        expect((await t.http.post(`${API}/ucenter/login/`).send(ghost)).body).toEqual({
          captcha: ['invalid'],
        });
        // A solved captcha with the right password signs in and resets the count.
        const ok = await attempt({ password: user.password, ...(await solvedCaptcha()) });
        expect(ok.status).toBe(200);
        expect((await attempt({ password: user.password })).status).toBe(200);
      } finally {
        await t.http
          .patch(`${API}/config/`)
          .set(auth())
          .send({ captcha_config: { login_failures: 0 } })
          .expect(200);
      }
    });
  });

  describe('mobile change', () => {
    it('needs the current password, a code sent to the new number for this user, and tells the old address', async () => {
      const user = await createUser(t, { mobile: '13400000001', private_email: 'lin@example.com' });
      const other = await createUser(t, { mobile: '13400000002' });
      const token = await login(t.http, { username: user.username, password: user.password });
      const otherToken = await login(t.http, { username: other.username, password: other.password });
      const as = { Authorization: `Token ${token}` };
      const newMobile = '13400000009';
      nextMinute();
      const sent = sms.sent.length;
      expect(
        (
          await t.http
            .post(`${API}/service/sms/update_mobile/`)
            .send({ mobile: newMobile, password: user.password })
        ).status,
      ).toBe(401);
      expect(
        (await t.http.post(`${API}/service/sms/update_mobile/`).set(as).send({ mobile: newMobile })).body,
      ).toEqual({
        password: ['required'],
      });
      expect(
        (
          await t.http
            .post(`${API}/service/sms/update_mobile/`)
            .set(as)
            .send({ mobile: newMobile, password: 'Wrong-pass-9' })
        ).body,
      ).toEqual({ password: ['invalid'] });
      expect(sms.sent.length).toBe(sent);
      await t.http
        .post(`${API}/service/sms/update_mobile/`)
        .set(as)
        .send({ mobile: newMobile, password: user.password })
        .expect(201);
      const code = sms.lastCodeTo(newMobile);
      // The code belongs to this user: anonymous or another user's exchange is refused.
      expect(
        (await t.http.get(`${API}/service/sms/update_mobile/`).query({ mobile: newMobile, code })).status,
      ).toBe(401);
      expect(
        (
          await t.http
            .get(`${API}/service/sms/update_mobile/`)
            .set('Authorization', `Token ${otherToken}`)
            .query({ mobile: newMobile, code })
        ).body,
      ).toEqual({ code: ['invalid'] });
      const proof = await smsToken('update_mobile', newMobile, token);
      // Not with another user's password and session, and not without the password.
      expect(
        (
          await t.http
            .patch(`${API}/ucenter/contact/`)
            .set('Authorization', `Token ${otherToken}`)
            .send({ sms_token: proof, password: other.password })
        ).body,
      ).toEqual({ sms_token: ['invalid'] });
      expect((await t.http.patch(`${API}/ucenter/contact/`).set(as).send({ sms_token: proof })).body).toEqual(
        {
          password: ['required'],
        },
      );
      expect(
        (
          await t.http
            .patch(`${API}/ucenter/contact/`)
            .set(as)
            .send({ sms_token: proof, password: 'Wrong-pass-9' })
        ).body,
      ).toEqual({ password: ['invalid'] });
      expect((await t.http.get(`${API}/ucenter/profile/`).set(as)).body.mobile).toBe('13400000001');
      const done = await t.http
        .patch(`${API}/ucenter/contact/`)
        .set(as)
        .send({ sms_token: proof, password: user.password });
      expect(done.status).toBe(200);
      expect(done.body).toEqual({ mobile: newMobile });
      expect((await t.http.get(`${API}/ucenter/profile/`).set(as)).body.mobile).toBe(newMobile);
      await login(t.http, { mobile: newMobile, password: user.password });
      expect(
        (await t.http.post(`${API}/ucenter/login/`).send({ mobile: '13400000001', password: user.password }))
          .status,
      ).toBe(400);
      expect(
        smtp.mails.some((m) => m.to.includes('lin@example.com') && m.raw.includes('mobile number')),
      ).toBe(true);
      // The old number hears of it too, by the notice template (no code in it).
      expect(sms.sent.filter((m) => m.phoneNumbers === '13400000001').map((m) => m.templateCode)).toEqual([
        'SMS_300',
      ]);
      // Used once.
      expect(
        (
          await t.http
            .patch(`${API}/ucenter/contact/`)
            .set(as)
            .send({ sms_token: proof, password: user.password })
        ).body,
      ).toEqual({ sms_token: ['invalid'] });
      // A number another account holds: the code goes out (nothing revealed), the change says existed.
      nextMinute();
      await t.http
        .post(`${API}/service/sms/update_mobile/`)
        .set(as)
        .send({ mobile: '13400000002', password: user.password })
        .expect(201);
      const taken = await smsToken('update_mobile', '13400000002', token);
      const dup = await t.http
        .patch(`${API}/ucenter/contact/`)
        .set(as)
        .send({ sms_token: taken, password: user.password });
      expect(dup.status).toBe(400);
      expect(dup.body).toEqual({ mobile: ['existed'] });
      expect((await t.http.get(`${API}/ucenter/profile/`).set(as)).body.mobile).toBe(newMobile);
      const log = await t.http
        .get(`${API}/log/`)
        .query({ subject: 'ucenter_contact', summary: user.username })
        .set(auth());
      expect(log.body.count).toBe(1);
    });
  });

  describe('purge of expired rows', () => {
    const rows = async (table: string, column: string, value: unknown) =>
      Number(
        (
          await db.query<{ n: number | string }[]>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`, [
            value,
          ])
        )[0].n,
      );

    it('is a scheduled job that deletes expired codes, tokens, captchas and dead invitations and keeps live ones', async () => {
      const schedules = t.app.get(SchedulesService);
      expect((await schedules.get(PURGE_EXPIRED_JOB)).cron).toBe(PURGE_EXPIRED_CRON);
      // Off while the clock jumps a day: the in-process scheduler (5 s ticks) would find the purge due
      // and run it before the rows are counted. The test runs it itself, as a firing would.
      await schedules.set(PURGE_EXPIRED_JOB, null);
      // Old: a code, its sms_token, a captcha, an invitation replaced by a newer one and one that expires.
      nextMinute();
      await t.http.post(`${API}/service/sms/register/`).send({ mobile: '13300000001' }).expect(201);
      await smsToken('register', '13300000001');
      const oldCaptcha = (await t.http.get(`${API}/service/captcha/`)).body.captcha_key as string;
      const replaced = await createUser(t);
      await t.http.post(`${API}/invitation/user/${replaced.username}/`).set(auth()).send({}).expect(200);
      const live = await t.http
        .post(`${API}/invitation/user/${replaced.username}/`)
        .set(auth())
        .send({ duration_minutes: 7 * 24 * 60 })
        .expect(200);
      const expiring = await createUser(t);
      await t.http
        .post(`${API}/invitation/user/${expiring.username}/`)
        .set(auth())
        .send({ duration_minutes: 60 })
        .expect(200);
      // A day later the code, the sms_token, the captcha and the 1-hour invitation are dead; then new ones.
      t.advanceClock(24 * 3600_000 + 60_000);
      await t.http.post(`${API}/service/sms/register/`).send({ mobile: '13300000002' }).expect(201);
      const freshCaptcha = (await t.http.get(`${API}/service/captcha/`)).body.captcha_key as string;
      const inviteeIds = async (username: string) =>
        Number(
          (await db.query<{ id: number }[]>('SELECT id FROM users WHERE username = ?', [username]))[0].id,
        );
      const replacedId = await inviteeIds(replaced.username);
      const expiringId = await inviteeIds(expiring.username);
      expect(await rows('verifications', 'address', '13300000001')).toBe(2);
      expect(await rows('invitations', 'invitee_id', replacedId)).toBe(2);

      const tasks = t.app.get(TasksService);
      const { task } = await tasks.enqueue(PURGE_EXPIRED_JOB, {});
      let finished = await tasks.find(task.taskId);
      for (
        let i = 0;
        i < 100 && finished?.statusRaw !== 'SUCCESS' && finished?.statusRaw !== 'FAILURE';
        i += 1
      ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        finished = await tasks.find(task.taskId);
      }
      expect(finished?.statusRaw).toBe('SUCCESS');
      const result = JSON.parse(finished?.result ?? 'null') as Record<string, number>;
      expect(result.verifications).toBeGreaterThanOrEqual(2);
      expect(result.captchas).toBeGreaterThanOrEqual(1);
      expect(result.invitations).toBeGreaterThanOrEqual(2);

      expect(await rows('verifications', 'address', '13300000001')).toBe(0);
      expect(await rows('verifications', 'address', '13300000002')).toBe(1);
      expect(await rows('captchas', 'captcha_key', oldCaptcha)).toBe(0);
      expect(await rows('captchas', 'captcha_key', freshCaptcha)).toBe(1);
      expect(await rows('invitations', 'invitee_id', replacedId)).toBe(1);
      expect(await rows('invitations', 'invitee_id', expiringId)).toBe(0);
      // What stayed still works: the live invitation and the fresh code.
      expect(
        (await t.http.get(`${API}/ucenter/profile/invited/`).query({ key: live.body.key })).body.username,
      ).toBe(replaced.username);
      await smsToken('register', '13300000002');
      await schedules.set(PURGE_EXPIRED_JOB, PURGE_EXPIRED_CRON);
    });
  });

  describe('files', () => {
    it('stores images locally under generated names and refuses anything else', async () => {
      const up = await t.http.post(`${API}/service/file/`).set(auth()).attach('file', PNG, 'me.svg');
      expect(up.status).toBe(200);
      expect(up.body.file_name).toMatch(/^[0-9a-f]{32}\.png$/);
      const down = await t.http.get(`/service/file/${up.body.file_name}`);
      expect(down.status).toBe(200);
      expect(down.headers['content-type']).toBe('image/png');
      const svg = await t.http
        .post(`${API}/service/file/`)
        .set(auth())
        .attach('file', Buffer.from('<svg></svg>'), 'x.png');
      expect(svg.status).toBe(400);
      const big = await t.http
        .post(`${API}/service/file/`)
        .set(auth())
        .attach('file', Buffer.concat([PNG, Buffer.alloc(3 * 1024 * 1024)]), 'b.png');
      expect(big.status).toBe(413);
      expect((await t.http.get('/service/file/../../etc/passwd')).status).toBe(404);
    });

    it('stores them in an S3 bucket through minio once storage says so', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'arbor-s3-'));
      const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
      const { port } = await s3.run();
      try {
        const res = await t.http
          .patch(`${API}/config/storage/`)
          .set(auth())
          .send({
            method: 'minio',
            minio_config: {
              end_point: `127.0.0.1:${port}`,
              access_key: 'S3RVER',
              secret_key: 'S3RVER',
              secure: false,
              bucket: 'arbor-files',
            },
          });
        expect(res.status).toBe(200);
        expect(res.body.minio_config).not.toHaveProperty('secret_key');
        const up = await t.http.post(`${API}/service/file/`).set(auth()).attach('file', PNG, 'logo.png');
        expect(up.status).toBe(200);
        const down = await t.http.get(`/service/file/${up.body.file_name}`);
        expect(down.status).toBe(302);
        expect(down.headers.location).toContain(`127.0.0.1:${port}/arbor-files/${up.body.file_name}`);
      } finally {
        await t.http.patch(`${API}/config/storage/`).set(auth()).send({ method: 'local' });
        await s3.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('superuser transfer (config/admin/)', () => {
    it("needs generic SMS tokens of both numbers, uses both up (D31) and ends both accounts' sessions", async () => {
      const adminMobile = '13200000001';
      const nextMobile = '13200000002';
      await t.http.patch(`${API}/user/admin/`).set(auth()).send({ mobile: adminMobile }).expect(200);
      expect((await t.http.get(`${API}/config/admin/`).set(auth())).body).toMatchObject({
        username: 'admin',
        mobile: adminMobile,
      });
      const heir = await createUser(t, { mobile: nextMobile });
      const heirToken = await login(t.http, { username: heir.username, password: heir.password });
      nextMinute();
      await t.http.post(`${API}/service/sms/`).send({ mobile: adminMobile }).expect(201);
      await t.http.post(`${API}/service/sms/`).send({ mobile: nextMobile }).expect(201);
      const oldToken = await smsToken('generic', adminMobile);
      const newToken = await smsToken('generic', nextMobile);
      const consumed = async () =>
        (
          await db.query<{ c: unknown }[]>(
            "SELECT consumed_at AS c FROM verifications WHERE kind = 'sms_token' AND address IN (?, ?)",
            [adminMobile, nextMobile],
          )
        ).filter((row) => row.c !== null).length;

      // Only a superuser may ask; swapped or repeated tokens are refused and nothing is used up.
      expect(
        (
          await t.http
            .patch(`${API}/config/admin/`)
            .set('Authorization', `Token ${heirToken}`)
            .send({ old_admin_sms_token: oldToken, new_admin_sms_token: newToken })
        ).status,
      ).toBe(403);
      for (const body of [
        { old_admin_sms_token: newToken, new_admin_sms_token: oldToken },
        { old_admin_sms_token: oldToken, new_admin_sms_token: oldToken },
      ]) {
        const refused = await t.http.patch(`${API}/config/admin/`).set(auth()).send(body);
        expect(refused.status).toBe(400);
      }
      expect(await consumed()).toBe(0);
      expect(
        (
          await db.query<{ a: unknown }[]>('SELECT is_admin AS a FROM users WHERE username = ?', [
            heir.username,
          ])
        )[0].a,
      ).toBeFalsy();

      const adminToken = admin;
      const res = await t.http
        .patch(`${API}/config/admin/`)
        .set(auth())
        .send({ old_admin_sms_token: oldToken, new_admin_sms_token: newToken });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ new_admin_username: heir.username });
      expect(await consumed()).toBe(2);
      // Both accounts' sessions ended.
      expect(
        (await t.http.get(`${API}/auth/token/`).set('Authorization', `Token ${adminToken}`)).status,
      ).toBe(401);
      expect((await t.http.get(`${API}/auth/token/`).set('Authorization', `Token ${heirToken}`)).status).toBe(
        401,
      );
      // The roles moved.
      const heirAgain = await login(t.http, { username: heir.username, password: heir.password });
      expect((await t.http.get(`${API}/config/`).set('Authorization', `Token ${heirAgain}`)).status).toBe(
        200,
      );
      const formerAdmin = await login(t.http, { username: 'admin', password: ADMIN_PASSWORD });
      expect((await t.http.get(`${API}/config/`).set('Authorization', `Token ${formerAdmin}`)).status).toBe(
        403,
      );
      // Replaying the tokens is refused because they are used up, not merely because of the caller.
      const replay = await t.http
        .patch(`${API}/config/admin/`)
        .set('Authorization', `Token ${heirAgain}`)
        .send({ old_admin_sms_token: oldToken, new_admin_sms_token: newToken });
      expect(replay.status).toBe(400);
      expect(replay.body).toEqual({ sms_token: ['invalid'] });
      const log = await t.http
        .get(`${API}/log/?subject=config&summary=${encodeURIComponent('移交')}`)
        .set('Authorization', `Token ${heirAgain}`);
      expect(log.body.count).toBe(1);
    });
  });
});
