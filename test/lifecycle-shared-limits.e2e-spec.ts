import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AliyunSmsFake } from './harness/aliyun-sms-fake';
import { API, createTestApp, type TestApp } from './harness/test-app';

/**
 * The hourly caps on verification codes live in Redis once REDIS_URL is set, so two API instances on
 * one database and one Redis count every send together: a client cannot double its quota by landing on
 * the other replica.
 */
describe('verification hourly caps shared through Redis', () => {
  let a: TestApp;
  let b: TestApp;
  let sms: AliyunSmsFake;
  let files: string;
  // Unique per run: the harness's Redis is shared by every suite of the run.
  const mobile = () => `139${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;
  const subnet = `10.${randomInt(0, 256)}.${randomInt(0, 256)}`;
  const clientIp = (n: number) => `${subnet}.${n}`;

  beforeAll(async () => {
    const redis = process.env.ARBOR_TEST_REDIS_URL;
    if (!redis) throw new Error('ARBOR_TEST_REDIS_URL is not set: run through jest.e2e.config.js');
    sms = new AliyunSmsFake();
    files = mkdtempSync(join(tmpdir(), 'arbor-files-'));
    const env = {
      ALIYUN_SMS_ENDPOINT: await sms.start(),
      FILE_STORAGE_DIR: files,
      REDIS_URL: redis,
      TRUST_PROXY: 'loopback',
      VERIFICATION_ADDRESS_HOURLY_LIMIT: '2',
      VERIFICATION_IP_HOURLY_LIMIT: '3',
    };
    a = await createTestApp(env);
    // The second instance on the first one's database.
    const database = a.config.database;
    b = await createTestApp({
      ...env,
      ...(database.kind === 'mysql' ? { DATABASE_URL: database.url } : { SQLITE_PATH: database.path }),
    });
    await a.http
      .patch(`${API}/config/`)
      .set('Authorization', `Token ${await a.adminToken()}`)
      .send({
        account_config: { allow_register: true, allow_mobile: true },
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
    await b?.close();
    await a?.close();
    await sms.stop();
    rmSync(files, { recursive: true, force: true });
  });

  const send = (t: TestApp, to: string, ip: string) =>
    t.http.post(`${API}/service/sms/register/`).set('X-Forwarded-For', ip).send({ mobile: to });
  // Each instance has its own clock: step both past the 60 s resend cooldown (kept in the database).
  const pastCooldown = () => {
    a.advanceClock(61_000);
    b.advanceClock(61_000);
  };

  it('counts the per-address cap across both instances', async () => {
    const to = mobile();
    expect((await send(a, to, clientIp(1))).status).toBe(201);
    pastCooldown();
    expect((await send(b, to, clientIp(2))).status).toBe(201);
    pastCooldown();
    for (const t of [a, b]) {
      const capped = await send(t, to, clientIp(3));
      expect(capped.status).toBe(429);
      expect(capped.body.detail).toMatch(/^Too many codes requested/);
      expect(Number(capped.headers['retry-after'])).toBeGreaterThan(3000);
      expect(Number(capped.headers['retry-after'])).toBeLessThanOrEqual(3600);
    }
    expect(sms.sent.filter((s) => s.phoneNumbers === to)).toHaveLength(2);
  });

  it('counts the per-IP cap across both instances', async () => {
    const ip = clientIp(9);
    expect((await send(a, mobile(), ip)).status).toBe(201);
    expect((await send(b, mobile(), ip)).status).toBe(201);
    expect((await send(a, mobile(), ip)).status).toBe(201);
    const capped = await send(b, mobile(), ip);
    expect(capped.status).toBe(429);
    expect(capped.body.detail).toMatch(/^Too many codes requested/);
    // Another client is not held back by it.
    expect((await send(b, mobile(), clientIp(8))).status).toBe(201);
  });
});
