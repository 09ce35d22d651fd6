import { DataSource } from 'typeorm';
import { API, createTestApp, type TestApp } from './harness/test-app';

describe('platform', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers the health check', async () => {
    const res = await t.http.get('/ping/').expect(200);
    expect(res.text).toBe('pong');
  });

  it('has migrations that match the entities exactly', async () => {
    const dataSource = t.app.get(DataSource);
    expect(await dataSource.showMigrations()).toBe(false);
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('round-trips Chinese and other non-ASCII text (utf8mb4)', async () => {
    const admin = { Authorization: `Token ${await t.adminToken()}` };
    const name = '欧阳娜娜 😀 Zoë';
    await t.http
      .post(`${API}/user/`)
      .set(admin)
      .send({ user: { username: 'utf8user', name, remark: '备注：测试' } })
      .expect(201);
    const res = await t.http.get(`${API}/user/utf8user/`).set(admin).expect(200);
    expect(res.body).toMatchObject({ name, remark: '备注：测试' });
    expect((await t.http.get(`${API}/user/?name=${encodeURIComponent(name)}`).set(admin)).body.count).toBe(1);
  });

  it('serves the same API under /siteapi/oneid/ and the OpenAPI document', async () => {
    await t.http.get('/siteapi/oneid/auth/token/').expect(401);
    const doc = await t.http.get(`${API}/docs/openapi.json`).expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([`${API}/user/`, `${API}/ucenter/login/`]),
    );
    await t.http.get(`${API}/docs/`).expect(200);
  });

  it('answers unknown routes with a DRF-style 404', async () => {
    await t.http.get(`${API}/no/such/route/`).expect(404, { detail: 'Not found.' });
  });
});

describe('migrations', () => {
  it('reverts and re-applies every migration', async () => {
    const own = await createTestApp();
    const dataSource = own.app.get(DataSource);
    const migrations = dataSource.migrations.length;
    for (let i = 0; i < migrations; i++) await dataSource.undoLastMigration();
    expect(await dataSource.showMigrations()).toBe(true);
    await dataSource.runMigrations();
    expect(await dataSource.showMigrations()).toBe(false);
    await own.close();
  });
});
