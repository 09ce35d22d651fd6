import { DataSource } from 'typeorm';
import { SecretBox } from '../src/common/crypto/secret-box';
import { AppConfig } from '../src/config/app-config';
import { dataSourceOptions, MIGRATIONS } from '../src/database/data-source';
import { DingConfigToSettings1764650000000 } from '../src/database/migrations/1764650000000-ding-config-to-settings';
import { FakeDingTalk, seedDirectory } from './harness/dingtalk-fake';
import { API, createTestApp, freshDatabaseEnv, type TestApp } from './harness/test-app';

const SECRET_KEY = 'arbor-test-master-key-0123456789abcdef';

/**
 * The DingTalk credentials as site configuration: `config/` ding_config (tested live against the
 * loopback DingTalk, secrets sealed and write-only), `meta/` ding_config, and the move of credentials
 * saved by an older release in the sync room's own table.
 */
describe('DingTalk credentials in config/', () => {
  const fake = new FakeDingTalk();
  let base: string;

  beforeAll(async () => {
    base = await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });

  describe('PATCH config/ ding_config', () => {
    let t: TestApp;
    let admin: string;
    let db: DataSource;
    const auth = () => ({ Authorization: `Token ${admin}` });
    const stored = async (): Promise<Record<string, unknown>> => {
      const rows: { data: string }[] = await db.query(
        "SELECT data FROM site_settings WHERE section = 'ding'",
      );
      return rows[0] ? (JSON.parse(rows[0].data) as Record<string, unknown>) : {};
    };
    const count = async (sql: string): Promise<number> =>
      Number((await db.query<{ n: number | string }[]>(sql))[0]?.n ?? 0);

    beforeAll(async () => {
      // Nothing from the environment: every credential comes through config/.
      t = await createTestApp({ DINGTALK_API_BASE: base, DINGTALK_NEW_API_BASE: base });
      admin = await t.adminToken();
      db = t.app.get(DataSource);
    }, 120000);
    afterAll(async () => {
      await t?.close();
    });

    it('reads empty and unconfigured at first; the sync refuses to run', async () => {
      const config = await t.http.get(`${API}/config/`).set(auth());
      expect(config.status).toBe(200);
      expect(config.body.ding_config).toEqual({
        app_key: '',
        app_valid: false,
        corp_id: '',
        corp_valid: false,
        qr_app_id: '',
        qr_app_valid: false,
      });
      expect((await t.http.get(`${API}/meta/`)).body.ding_config).toEqual({
        app_key: '',
        corp_id: '',
        qr_app_id: '',
      });
      expect((await t.http.get(`${API}/sync/ding/config/`).set(auth())).body.app_configured).toBe(false);
      expect((await t.http.post(`${API}/task/import/ding/`).set(auth())).status).toBe(400);
    });

    it('rejects bad input with a 400 naming the field, and writes nothing', async () => {
      const auditBefore = await count("SELECT COUNT(*) AS n FROM audit_log WHERE subject = 'config'");
      for (const [body, field] of [
        [{ ding_config: 'x' }, 'ding_config'],
        [{ ding_config: { app_key: 12 } }, 'ding_config'],
        [{ ding_config: { app_key: 'has spaces' } }, 'ding_config'],
        [{ ding_config: { app_secret: 'x'.repeat(257) } }, 'ding_config'],
      ] as const) {
        const res = await t.http.patch(`${API}/config/`).set(auth()).send(body);
        expect(res.status).toBe(400);
        expect(JSON.stringify(res.body)).toContain(field);
      }
      expect(await stored()).toEqual({});
      expect(await count("SELECT COUNT(*) AS n FROM audit_log WHERE subject = 'config'")).toBe(auditBefore);
      const plain = await t.http.patch(`${API}/config/`).send({ ding_config: { app_key: 'x' } });
      expect(plain.status).toBe(401);
    });

    it('saves ids and valid flags always, a secret only when DingTalk accepts it', async () => {
      const refused = await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ ding_config: { app_key: fake.appKey, app_secret: 'not-the-secret' } });
      expect(refused.status).toBe(200);
      expect(refused.body.ding_config).toMatchObject({ app_key: fake.appKey, app_valid: false });
      expect(await stored()).toMatchObject({ app_key: fake.appKey, app_secret: '', app_valid: false });
      expect((await t.http.get(`${API}/sync/ding/config/`).set(auth())).body.app_configured).toBe(false);
      // The flags are read-only: a client sending them sets nothing.
      const forged = await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ ding_config: { app_valid: true, corp_valid: true, qr_app_valid: true } });
      expect(forged.status).toBe(200);
      expect(forged.body.ding_config).toMatchObject({
        app_valid: false,
        corp_valid: false,
        qr_app_valid: false,
      });

      const accepted = await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({
          ding_config: {
            app_secret: fake.appSecret,
            corp_id: fake.corpId,
            corp_secret: fake.corpSecret,
            qr_app_id: fake.qrAppId,
            qr_app_secret: fake.qrAppSecret,
          },
        });
      expect(accepted.status).toBe(200);
      expect(accepted.body.ding_config).toEqual({
        app_key: fake.appKey,
        app_valid: true,
        corp_id: fake.corpId,
        corp_valid: true,
        qr_app_id: fake.qrAppId,
        qr_app_valid: true,
      });
      // Sealed at rest, never answered, masked in the audit log.
      const row = await stored();
      for (const [field, plain] of [
        ['app_secret', fake.appSecret],
        ['corp_secret', fake.corpSecret],
        ['qr_app_secret', fake.qrAppSecret],
      ] as const) {
        expect(row[field]).toMatch(/^v1\./);
        expect(String(row[field])).not.toContain(plain);
      }
      const read = await t.http.get(`${API}/config/`).set(auth());
      expect(read.body.ding_config).toEqual(accepted.body.ding_config);
      // Three audited writes (refused secret, forged flags, accepted secrets); the secrets masked.
      const audit: { body: string | null }[] = await db.query(
        "SELECT body FROM audit_log WHERE subject = 'config' ORDER BY id DESC LIMIT 3",
      );
      expect(audit).toHaveLength(3);
      expect(audit.filter((entry) => entry.body?.includes('******'))).toHaveLength(2);
      for (const entry of audit) {
        for (const plain of [fake.appSecret, fake.corpSecret, fake.qrAppSecret, 'not-the-secret'])
          expect(entry.body ?? '').not.toContain(plain);
      }
      expect((await t.http.get(`${API}/meta/`)).body.ding_config).toEqual({
        app_key: fake.appKey,
        corp_id: fake.corpId,
        qr_app_id: fake.qrAppId,
      });
    });

    it('the sync and the sign-ins use what config/ holds; a wrong new secret keeps the working one', async () => {
      fake.reset();
      seedDirectory(fake, 2, 3);
      expect((await t.http.post(`${API}/sync/ding/preflight/`).set(auth())).body).toMatchObject({ ok: true });
      const wrong = await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ ding_config: { qr_app_secret: 'wrong-qr-secret' } });
      expect(wrong.body.ding_config).toMatchObject({ qr_app_valid: false, app_valid: true });
      // The refused secret was not saved: the QR login still signs with the accepted one.
      fake.qrCodes.set('qr-config', 'nobody');
      const qr = await t.http.post(`${API}/ding/qr/callback/`).send({ code: 'qr-config' });
      expect(qr.status).toBe(200);
      expect(qr.body).toEqual({ token: '', third_party_id: 'stranger-qr-config' });
      // An empty secret keeps the stored one and re-tests it.
      const kept = await t.http
        .patch(`${API}/config/`)
        .set(auth())
        .send({ ding_config: { qr_app_id: fake.qrAppId, qr_app_secret: '' } });
      expect(kept.body.ding_config).toMatchObject({ qr_app_valid: true });
    });

    it('sync/ding/config/ holds only the sync settings and points credential writes to config/', async () => {
      const res = await t.http.patch(`${API}/sync/ding/config/`).set(auth()).send({ app_secret: 'x' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ app_secret: ['DingTalk credentials are set in config/ (ding_config).'] });
      const read = await t.http.get(`${API}/sync/ding/config/`).set(auth());
      expect(read.status).toBe(200);
      expect(Object.keys(read.body as object).sort()).toEqual([
        'app_configured',
        'leaver_delete_days',
        'leaver_policy',
        'pull_cron',
        'pull_next_run_at',
        'push_cron',
        'push_next_run_at',
      ]);
      expect(read.body.app_configured).toBe(true);
      const bad = await t.http.patch(`${API}/sync/ding/config/`).set(auth()).send({ leaver_policy: 'keep' });
      expect(bad.status).toBe(400);
      expect(bad.body).toHaveProperty('leaver_policy');
    });
  });

  it('credentials saved by an older release (sync room table, purpose dingtalk) stay readable', async () => {
    const database = await freshDatabaseEnv();
    const config = AppConfig.fromEnvironment({ NODE_ENV: 'test', SECRET_KEY, ...database.env });
    const older = new DataSource({
      ...dataSourceOptions(config),
      migrations: MIGRATIONS.filter((m) => m !== DingConfigToSettings1764650000000),
    });
    await older.initialize();
    await older.runMigrations();
    const box = new SecretBox(SECRET_KEY, 'dingtalk');
    await older.query(
      'INSERT INTO ding_config (app_key, app_secret_enc, corp_id, qr_app_id, qr_app_secret_enc, app_valid, qr_app_valid, leaver_policy, leaver_delete_days) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        fake.appKey,
        box.seal(fake.appSecret),
        'oldcorp',
        fake.qrAppId,
        box.seal(fake.qrAppSecret),
        1,
        0,
        'ignore',
        7,
      ],
    );
    await older.destroy();

    const t = await createTestApp({ DINGTALK_API_BASE: base, DINGTALK_NEW_API_BASE: base }, { database });
    try {
      const auth = { Authorization: `Token ${await t.adminToken()}` };
      const read = await t.http.get(`${API}/config/`).set(auth);
      expect(read.body.ding_config).toEqual({
        app_key: fake.appKey,
        app_valid: true,
        corp_id: 'oldcorp',
        corp_valid: false,
        qr_app_id: fake.qrAppId,
        qr_app_valid: false,
      });
      expect((await t.http.get(`${API}/sync/ding/config/`).set(auth)).body).toMatchObject({
        app_configured: true,
        leaver_policy: 'ignore',
        leaver_delete_days: 7,
      });
      // The moved secrets open: DingTalk accepts the app's, and the QR login signs with its own.
      fake.reset();
      seedDirectory(fake, 1, 1);
      expect((await t.http.post(`${API}/sync/ding/preflight/`).set(auth)).body).toMatchObject({
        ok: true,
        credentials: true,
      });
      fake.qrCodes.set('qr-old', 'nobody');
      expect((await t.http.post(`${API}/ding/qr/callback/`).send({ code: 'qr-old' })).body).toEqual({
        token: '',
        third_party_id: 'stranger-qr-old',
      });
      const columns: Record<string, unknown>[] = await t.app
        .get(DataSource)
        .query('SELECT * FROM ding_config');
      expect(Object.keys(columns[0] ?? {}).sort()).toEqual([
        'id',
        'leaver_delete_days',
        'leaver_policy',
        'updated_at',
      ]);
    } finally {
      await t.close();
    }
  }, 120000);
});
