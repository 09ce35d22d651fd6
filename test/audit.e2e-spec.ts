import { DataSource } from 'typeorm';
import { TransactionRunner } from '../src/common/database/transaction-runner';
import { requestContext } from '../src/common/logging/request-context';
import { AuditSearchIndexer } from '../src/modules/audit/audit-search-indexer';
import { type AuditEntryInput, AuditService } from '../src/modules/audit/audit.service';
import { registerApp, tokenRequest } from './harness/oauth';
import {
  ADMIN_PASSWORD,
  API,
  createTestApp,
  createUser,
  login,
  type TestApp,
  testDatabaseKind,
} from './harness/test-app';

interface LiteLog {
  uuid: string;
  created: string;
  user: { user_id?: number | null; username: string; name: string };
  subject: string;
  summary: string;
  subject_verbose: string;
}
interface LogPage {
  count: number;
  next: string | null;
  previous: string | null;
  results: LiteLog[];
}

const CHROME_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

describe('audit log', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp({ LOGIN_LOCKOUT_THRESHOLD: '3', LOGIN_FREE_FAILURES: '100' });
    admin = { Authorization: `Token ${await t.adminToken()}` };
  });
  afterAll(() => t.close());

  const logs = async (query = ''): Promise<LogPage> =>
    (await t.http.get(`${API}/log/?page_size=100${query}`).set(admin).expect(200)).body as LogPage;
  const total = async (): Promise<number> => (await logs()).count;
  const latest = async (): Promise<LiteLog> => (await logs()).results[0];
  const detail = async (uuid: string) =>
    (await t.http.get(`${API}/log/${uuid}/`).set(admin).expect(200)).body as LiteLog & {
      detail: string;
      ip: string;
      os: string;
      browser: string;
      request_id: string;
    };

  /** Runs one write and expects exactly one new entry with that subject; returns it. */
  async function oneEntry(subject: string, write: () => PromiseLike<unknown>): Promise<LiteLog> {
    const before = await total();
    await write();
    const page = await logs();
    expect(page.count).toBe(before + 1);
    expect(page.results[0].subject).toBe(subject);
    return page.results[0];
  }

  it('records every write with exactly one entry, actor and subject label, across every room', async () => {
    const a = await oneEntry('user_create', () => createUser(t, { username: 'auditalice', name: 'Alice' }));
    expect(a).toMatchObject({
      user: { username: 'admin' },
      subject_verbose: '创建用户',
      summary: '创建用户 auditalice',
    });
    expect(a.uuid).toMatch(/^[0-9a-f]{32}$/);
    expect(a.created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    const http = t.http;
    const steps: [string, () => PromiseLike<unknown>][] = [
      [
        'user_update',
        () => http.patch(`${API}/user/auditalice/`).set(admin).send({ position: 'QA' }).expect(200),
      ],
      [
        'user_password',
        () =>
          http
            .patch(`${API}/user/auditalice/password/`)
            .set(admin)
            .send({ password: 'Alice-pass-2', require_reset_password: false })
            .expect(200),
      ],
      [
        'dept_create',
        () => http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'aud1', name: 'A1' }).expect(201),
      ],
      [
        'dept_create',
        () => http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'aud2', name: 'A2' }).expect(201),
      ],
      ['dept_update', () => http.patch(`${API}/dept/aud1/`).set(admin).send({ remark: 'r' }).expect(200)],
      [
        'dept_move',
        () =>
          http
            .patch(`${API}/dept/aud1/dept/`)
            .set(admin)
            .send({ subject: 'add', dept_uids: ['aud2'] })
            .expect(200),
      ],
      [
        'dept_member',
        () =>
          http
            .patch(`${API}/dept/aud1/user/`)
            .set(admin)
            .send({ subject: 'add', user_uids: ['auditalice'] })
            .expect(200),
      ],
      [
        'group_member',
        () =>
          http
            .patch(`${API}/user/auditalice/group/`)
            .set(admin)
            .send({ subject: 'add', group_uids: ['role'] })
            .expect(200),
      ],
      [
        'group_create',
        () => http.post(`${API}/group/role/group/`).set(admin).send({ uid: 'audg', name: 'G' }).expect(201),
      ],
      ['group_delete', () => http.delete(`${API}/group/audg/`).set(admin).expect(204)],
      [
        'app_create',
        () => http.post(`${API}/app/`).set(admin).send({ uid: 'audapp', name: 'Aud' }).expect(201),
      ],
      ['app_update', () => http.patch(`${API}/app/audapp/`).set(admin).send({ remark: 'x' }).expect(200)],
      [
        'app_update',
        () =>
          http.post(`${API}/app/audapp/oauth/`).set(admin).send({ redirect_uris: 'https://aud.example/cb' }),
      ],
      [
        'perm_create',
        () => http.post(`${API}/perm/`).set(admin).send({ scope: 'audapp', name: 'Approve' }).expect(201),
      ],
      [
        'perm_assign',
        () =>
          http
            .patch(`${API}/perm/app_audapp_access/owner/`)
            .set(admin)
            .send({ user_perm_status: [{ uid: 'auditalice', status: 1 }] })
            .expect(200),
      ],
      [
        'perm_assign',
        () =>
          http
            .patch(`${API}/perm/user/auditalice/`)
            .set(admin)
            .send({ perm_statuses: [{ uid: 'app_audapp_access', status: -1 }] })
            .expect(200),
      ],
      [
        'perm_assign',
        () =>
          http
            .patch(`${API}/perm/dept/aud1/`)
            .set(admin)
            .send({ perm_statuses: [{ uid: 'app_audapp_access', status: 1 }] })
            .expect(200),
      ],
      ['user_unlock', () => http.post(`${API}/user/auditalice/unlock/`).set(admin).expect(200)],
      ['app_delete', () => http.delete(`${API}/app/audapp/`).set(admin).expect(204)],
      ['dept_delete', () => http.delete(`${API}/dept/aud2/`).set(admin).expect(204)],
    ];
    for (const [subject, write] of steps) await oneEntry(subject, write);

    const token = await login(t.http, { username: 'auditalice', password: 'Alice-pass-2' });
    const own = { Authorization: `Token ${token}` };
    const profile = await oneEntry('ucenter_profile', () =>
      t.http.patch(`${API}/ucenter/profile/`).set(own).send({ gender: 2 }).expect(200),
    );
    expect(profile.user).toMatchObject({ username: 'auditalice', name: 'Alice' });
    await oneEntry('ucenter_logout', () => t.http.post(`${API}/revoke/token/`).set(own).expect(200));
    await oneEntry('user_delete', () => t.http.delete(`${API}/user/auditalice/`).set(admin).expect(204));
    // The actor snapshot outlives the account: the profile entry still names Alice.
    const kept = (await logs('&subject=ucenter_profile')).results[0];
    expect(kept.user).toMatchObject({ username: 'auditalice', name: 'Alice' });
  });

  it('writes no entry for a refused or rolled-back write', async () => {
    await createUser(t, { username: 'auditbob' });
    await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'rb1', name: 'RB1' }).expect(201);
    await t.http.post(`${API}/dept/rb1/dept/`).set(admin).send({ uid: 'rb2', name: 'RB2' }).expect(201);
    await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'rb3', name: 'RB3' }).expect(201);
    const before = await total();
    await t.http
      .post(`${API}/user/`)
      .set(admin)
      .send({ user: { username: 'auditbob' } })
      .expect(400);
    await t.http.patch(`${API}/user/nosuchuser/`).set(admin).send({ name: 'x' }).expect(404);
    await t.http.patch(`${API}/user/auditbob/password/`).set(admin).send({ password: 'short' }).expect(400);
    // A multi-node move whose second node would move under itself: the first move is rolled back too.
    await t.http
      .patch(`${API}/dept/rb2/dept/`)
      .set(admin)
      .send({ subject: 'add', dept_uids: ['rb3', 'rb1'] })
      .expect(400);
    expect((await t.http.get(`${API}/dept/rb3/`).set(admin).expect(200)).body).toBeTruthy();
    expect(await total()).toBe(before);

    // Entries written in a transaction that fails are rolled back with it, however many.
    const audit = t.app.get(AuditService);
    await expect(
      t.app.get(TransactionRunner).run(async (manager) => {
        await audit.recordMany(manager, [
          { subject: 'user_update', summary: 'one' },
          { subject: 'user_update', summary: 'two' },
        ]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await total()).toBe(before);
  });

  it('masks secrets structurally at any depth and keeps the rest of the body', async () => {
    const res = await t.http
      .post(`${API}/user/`)
      .set(admin)
      .send({
        user: { username: 'auditcarol', name: 'Carol', password: 'Carol-secret-9' },
        extra: { nested: [{ API_KEY: 'k-123', note: 'kept' }], sms_code: '654321', token: { x: 'tok-xyz' } },
      })
      .expect(201);
    expect(res.body.username).toBe('auditcarol');
    const entry = await detail((await latest()).uuid);
    const data =
      entry.detail
        .split('\n')
        .find((l) => l.startsWith('DATA: '))
        ?.slice(6) ?? '';
    expect(JSON.parse(data)).toEqual({
      user: { username: 'auditcarol', name: 'Carol', password: '******' },
      extra: { nested: [{ API_KEY: '******', note: 'kept' }], sms_code: '******', token: '******' },
    });
    for (const secret of ['Carol-secret-9', 'k-123', '654321', 'tok-xyz'])
      expect(entry.detail).not.toContain(secret);

    // A client secret in an OAuth registration, and the password of a login, never reach the log.
    await t.http
      .post(`${API}/app/`)
      .set(admin)
      .send({
        uid: 'maskapp',
        name: 'M',
        oauth_app: { redirect_uris: 'https://m.example/cb', client_secret: 'cs-1' },
      })
      .expect(201);
    expect((await detail((await latest()).uuid)).detail).not.toContain('cs-1');
    await login(t.http, { username: 'auditcarol', password: 'Carol-secret-9' });
    const signIn = await detail((await latest()).uuid);
    expect(signIn.subject).toBe('ucenter_login');
    expect(signIn.detail).toContain('"password":"******"');
    expect(signIn.detail).not.toContain('Carol-secret-9');
  });

  it('keeps IP, parsed agent, URL, method and request id in the detail', async () => {
    await t.http
      .patch(`${API}/user/auditcarol/`)
      .set(admin)
      .set('User-Agent', CHROME_WINDOWS)
      .set('X-Forwarded-For', '203.0.113.7')
      .set('X-Request-Id', 'audit-request-0001')
      .send({ remark: 'ua' })
      .expect(200);
    const entry = await detail((await latest()).uuid);
    expect(entry).toMatchObject({
      os: 'Windows 10',
      browser: 'Chrome 120.0.0.0',
      request_id: 'audit-request-0001',
    });
    // TRUST_PROXY is off here: the forwarded address is ignored.
    expect(entry.ip).toMatch(/127\.0\.0\.1$/);
    expect(entry.detail.split('\n')).toEqual([
      `IP: ${entry.ip}`,
      `Agent: ${CHROME_WINDOWS}`,
      'URL: /siteapi/v1/user/auditcarol/',
      'Method: PATCH',
      'DATA: {"remark":"ua"}',
    ]);
  });

  it('records failed logins without an actor, the lockout, and answers exactly as before', async () => {
    const dave = await createUser(t, { username: 'auditdave' });
    const before = await total();
    const wrong = await t.http
      .post(`${API}/ucenter/login/`)
      .send({ username: 'auditdave', password: 'Wrong-pass-1' })
      .expect(400);
    const unknown = await t.http
      .post(`${API}/ucenter/login/`)
      .send({ username: 'nobodyhere', password: 'Wrong-pass-1' })
      .expect(400);
    expect(wrong.body).toEqual(unknown.body);
    const failed = (await logs('&subject=ucenter_login_failed')).results;
    expect(failed.slice(0, 2).map((e) => [e.summary, e.user])).toEqual([
      ['username nobodyhere 登录失败', { username: 'unknown', name: 'unknown' }],
      ['auditdave 登录失败', { username: 'unknown', name: 'unknown' }],
    ]);
    for (let i = 0; i < 2; i++) {
      await t.http
        .post(`${API}/ucenter/login/`)
        .send({ username: 'auditdave', password: 'Wrong-pass-1' })
        .expect(400);
    }
    await t.http.post(`${API}/ucenter/login/`).send(dave).expect(429);
    const page = await logs('&subject=ucenter_login_failed|ucenter_lockout');
    expect(page.results[0]).toMatchObject({
      subject: 'ucenter_lockout',
      summary: 'auditdave 连续登录失败, 已锁定',
    });
    // 4 failures and 1 lockout; the refused attempt while locked changed nothing, so it wrote nothing.
    expect((await total()) - before).toBe(5);
    await oneEntry('user_unlock', () => t.http.post(`${API}/user/auditdave/unlock/`).set(admin).expect(200));
    const ok = await oneEntry('ucenter_login', () => login(t.http, dave));
    expect(ok.user).toMatchObject({ username: 'auditdave' });
  });

  it('filters by subject, user, summary, days and time range, newest first, with contract pagination', async () => {
    const all = await logs();
    const created = all.results.map((e) => Date.parse(e.created));
    expect([...created].sort((x, y) => y - x)).toEqual(created);

    const subjects = await logs('&subject=dept_create|app_create');
    expect(subjects.count).toBeGreaterThanOrEqual(4);
    expect(new Set(subjects.results.map((e) => e.subject))).toEqual(new Set(['dept_create', 'app_create']));

    const byUser = await logs('&user=AUDITDAV');
    expect(byUser.count).toBeGreaterThan(0);
    expect(byUser.results.every((e) => e.user.username === 'auditdave')).toBe(true);
    expect((await logs('&user=zzznobody')).count).toBe(0);
    // By name too (the admin's name is "admin"; Alice's entries name her).
    expect((await logs('&user=alice')).results.every((e) => e.user.name === 'Alice')).toBe(true);

    const bySummary = await logs('&summary=auditcarol');
    expect(bySummary.count).toBeGreaterThan(0);
    expect(bySummary.results.every((e) => e.summary.includes('auditcarol'))).toBe(true);
    // LIKE wildcards are literal.
    expect((await logs('&summary=%25')).count).toBe(0);

    const today = await logs('&days=0');
    expect(today.count).toBe(all.count);
    t.advanceClock(3 * 24 * 3600 * 1000);
    await oneEntry('dept_create', () =>
      t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'later', name: 'Later' }).expect(201),
    );
    expect((await logs('&days=1')).count).toBe(1);
    expect((await logs('&days=2')).results.map((e) => e.summary)).toEqual(['创建部门 Later (d_later)']);
    const boundary = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
    expect((await logs(`&after_created=${boundary}`)).count).toBe(1);
    expect((await logs(`&before_created=${boundary}`)).count).toBe(all.count);
    expect((await logs(`&after_created=${boundary}&subject=user_create`)).count).toBe(0);

    const first = (await t.http.get(`${API}/log/?page_size=3`).set(admin).expect(200)).body as LogPage;
    expect(first.results).toHaveLength(3);
    expect(first.previous).toBeNull();
    expect(first.next).toBe('http://arbor.test/siteapi/v1/log/?page_size=3&page=2');
    const second = (await t.http.get(`${API}/log/?page_size=3&page=2`).set(admin).expect(200))
      .body as LogPage;
    expect(second.results[0].uuid).toBe(all.results.length >= 0 ? (await logs()).results[3].uuid : '');
    const past = await t.http.get(`${API}/log/?page=999`).set(admin).expect(404);
    expect(past.body).toEqual({ detail: 'Invalid page.' });
    const oneid = await t.http.get(`/siteapi/oneid/log/?subject=dept_create`).set(admin).expect(200);
    expect((oneid.body as LogPage).count).toBeGreaterThan(0);
  });

  it('answers bad filter values with a DRF 400', async () => {
    const cases: [string, Record<string, string[]>][] = [
      ['days=1.5', { days: ['A valid integer is required.'] }],
      ['days=abc', { days: ['A valid integer is required.'] }],
      ['after_created=tomorrow', { after_created: ['Enter a valid date/time.'] }],
      ['before_created=2026-99-01', { before_created: ['Enter a valid date/time.'] }],
      [
        'subject=user_create|bogus',
        { subject: ['Select a valid choice. bogus is not one of the available choices.'] },
      ],
      ['user=a&user=b', { user: ['Not a valid string.'] }],
    ];
    for (const [query, body] of cases) {
      const res = await t.http.get(`${API}/log/?${query}`).set(admin).expect(400);
      expect(res.body).toEqual(body);
      await t.http.get(`${API}/log/export/?${query}`).set(admin).expect(400);
    }
  });

  it('shows one entry in detail, and 404 for an unknown uuid', async () => {
    const entry = (await logs('&subject=user_create')).results[0];
    const shown = await detail(entry.uuid);
    expect(shown).toMatchObject({ ...entry, detail: expect.stringContaining('Method: POST') as unknown });
    await t.http
      .get(`${API}/log/${'0'.repeat(32)}/`)
      .set(admin)
      .expect(404);
    await t.http.get(`${API}/log/not-a-uuid/`).set(admin).expect(404);
  });

  it('lists the subjects with their labels in meta/log/', async () => {
    const res = await t.http.get(`${API}/meta/log/`).set(admin).expect(200);
    const meta = res.body as { subject: string; name: string }[];
    expect(meta.slice(0, 5)).toEqual([
      { subject: 'ucenter_login', name: '登录' },
      { subject: 'ucenter_reset_pwd', name: '重置密码' },
      { subject: 'ucenter_register', name: '注册' },
      { subject: 'ucenter_activate', name: '激活' },
      { subject: 'config', name: '系统配置' },
    ]);
    expect(meta).toContainEqual({ subject: 'perm_assign', name: '配置权限' });
    expect(meta).toContainEqual({ subject: 'ucenter_lockout', name: '账号锁定' });
  });

  it('exports the filtered log as CSV, with formula-like cells defused', async () => {
    await createUser(t, {
      username: 'auditeve',
      name: '=HYPERLINK("http://x.example")',
      password: 'Eve-pass-123',
    });
    const eve = {
      Authorization: `Token ${await login(t.http, { username: 'auditeve', password: 'Eve-pass-123' })}`,
    };
    await t.http.patch(`${API}/ucenter/profile/`).set(eve).send({ position: '+1 dev' }).expect(200);
    const res = await t.http
      .get(`${API}/log/export/?subject=ucenter_profile|user_create`)
      .set(admin)
      .expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="audit-log-\d{8}T\d{6}\.csv"$/);
    const text = res.text;
    expect(text.startsWith('\ufeffuuid,created,subject,subject_verbose,summary,username,name,')).toBe(true);
    const lines = text.slice(1).trimEnd().split('\r\n');
    const page = await logs('&subject=ucenter_profile|user_create');
    expect(lines).toHaveLength(page.count + 1);
    expect(lines[1]).toContain(`${page.results[0].uuid},`);
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://x.example"")"`);
    expect(text).not.toMatch(/,=HYPERLINK/);
  });

  it('is append-only through the API, and readable only with the log permission', async () => {
    const uuid = (await latest()).uuid;
    for (const path of ['log/', `log/${uuid}/`, 'log/export/']) {
      for (const method of ['post', 'put', 'patch', 'delete'] as const) {
        const res = await t.http[method](`${API}/${path}`).set(admin).send({});
        expect(res.status).toBe(405);
        expect(res.body).toEqual({ detail: `Method "${method.toUpperCase()}" not allowed.` });
      }
    }
    expect((await t.http.get(`${API}/log/${uuid}/`).set(admin).expect(200)).body.uuid).toBe(uuid);
    const user = await createUser(t, { username: 'auditfrank' });
    const frank = { Authorization: `Token ${await login(t.http, user)}` };
    for (const path of ['log/', `log/${uuid}/`, 'log/export/', 'meta/log/']) {
      await t.http.get(`${API}/${path}`).set(frank).expect(403);
    }
    await t.http.get(`${API}/log/`).expect(401);
  });

  it('records CLI and job changes as the system actor', async () => {
    const audit = t.app.get(AuditService);
    // Outside any request: no principal, no HTTP facts.
    await requestContext.exit(() =>
      t.app
        .get(TransactionRunner)
        .run((manager) => audit.record(manager, { subject: 'config', summary: 'cli change' })),
    );
    const res = await t.http.get(`${API}/log/?subject=config`).set(admin);
    if (res.status !== 200) throw new Error(t.logs.filter((l) => l.includes('"level":50')).join('\n'));
    const entry = await detail((await latest()).uuid);
    expect(entry).toMatchObject({
      user: { username: 'system', name: 'system' },
      summary: 'cli change',
      ip: '',
    });
    expect(entry.detail).toContain('Method: \nDATA: ');
  });

  it('finds an actor by name even when its first audited write rolled back', async () => {
    const audit = t.app.get(AuditService);
    const tx = t.app.get(TransactionRunner);
    const ghost = { userId: null, username: 'ghostwriter', name: '幽灵' };
    await expect(
      tx.run(async (manager) => {
        await audit.record(manager, { subject: 'config', summary: 'rolled back', actor: ghost });
        throw new Error('the write fails after its entry');
      }),
    ).rejects.toThrow('the write fails');
    await tx.run((manager) => audit.record(manager, { subject: 'config', summary: 'kept', actor: ghost }));
    const found = await logs('&user=幽灵');
    expect(found.results.map((r) => r.summary)).toEqual(['kept']);
  });

  it('searches summaries by any substring through the trigram index, as the column collation compares', async () => {
    const summaries = [
      '修改用户 张三丰 (zsf01)',
      '删除应用 Ëmile Payroll (payroll_x)',
      '张三 登录',
      '三张 反序',
      '误报 abca bcab',
      '登录 李四',
    ];
    await recordAsSystem(
      t,
      summaries.map((summary) => ({ subject: 'user_update' as const, summary })),
    );
    const found = async (needle: string): Promise<string[]> =>
      (await logs(`&summary=${encodeURIComponent(needle)}`)).results.map((e) => e.summary);
    const db = t.app.get(DataSource);
    const pending = async (): Promise<number> =>
      Number((await db.query<{ n: number }[]>('SELECT COUNT(*) AS n FROM audit_log_pending'))[0].n);
    // Just written, the entries may still be queued for the index: a search reads the queue too.
    expect(await found('张三丰')).toEqual(['修改用户 张三丰 (zsf01)']);
    await t.app.get(AuditSearchIndexer).drain();
    expect(await pending()).toBe(0);
    expect(await found('张三')).toEqual(['张三 登录', '修改用户 张三丰 (zsf01)']);
    expect(await found('PAYROLL_X')).toEqual(['删除应用 Ëmile Payroll (payroll_x)']);
    if (testDatabaseKind() === 'mariadb') {
      // The summary column's collation also ignores accents and width; the index folds them alike.
      // (SQLite's LIKE folds ASCII case only, and the rows are checked with it.)
      expect(await found('emile')).toEqual(['删除应用 Ëmile Payroll (payroll_x)']);
      expect(await found('ＺＳＦ０１')).toEqual(['修改用户 张三丰 (zsf01)']);
    }
    expect(await found('张三张')).toEqual([]);
    // Every trigram of "abcabc" (abc, bca, cab) is in "abca bcab", but not in that order: LIKE rules it out.
    expect(await found('abcabc')).toEqual([]);
    expect(await found('bca')).toEqual(['误报 abca bcab']);
    // One or two characters, anywhere, the end included, read the trigrams they begin.
    expect(await found('丰')).toEqual(['修改用户 张三丰 (zsf01)']);
    expect(await found('李四')).toEqual(['登录 李四']);
    expect(await found('四')).toEqual(['登录 李四']);
  });

  it('counts up to 10,000 matches and pages many and few matches newest first', async () => {
    // 10,050 entries in five moments, so order is by time first and id second.
    for (let batch = 0; batch < 5; batch++) {
      t.advanceClock(1000);
      await recordAsSystem(
        t,
        Array.from({ length: 2010 }, (_, i) => ({
          subject: 'perm_assign' as const,
          summary: `bulkcap b${batch} n${i}`,
        })),
      );
    }
    const many = (await t.http.get(`${API}/log/?summary=bulkcap&page_size=100`).set(admin).expect(200))
      .body as LogPage & { count_capped: boolean };
    expect([many.count, many.count_capped]).toEqual([10_000, true]);
    expect(many.results[0].summary).toBe('bulkcap b4 n2009');
    expect(many.results[99].summary).toBe('bulkcap b4 n1910');
    const last = (
      await t.http.get(`${API}/log/?summary=bulkcap&page_size=100&page=100`).set(admin).expect(200)
    ).body as LogPage;
    expect(last.next).toBeNull();
    await t.http.get(`${API}/log/?summary=bulkcap&page_size=100&page=101`).set(admin).expect(404);
    // Without a contains-search, a broad filter is counted to the cap and read newest first.
    const dense = (
      await t.http.get(`${API}/log/?subject=perm_assign&page_size=100&page=2`).set(admin).expect(200)
    ).body as LogPage & { count_capped: boolean };
    expect([dense.count, dense.count_capped]).toEqual([10_000, true]);
    expect(dense.results[0].summary).toBe('bulkcap b4 n1909');
    // Few matches take the other path and keep the same order.
    const few = (
      await t.http.get(`${API}/log/?summary=bulkcap b3 n20&page_size=5&page=2`).set(admin).expect(200)
    ).body as LogPage & { count_capped: boolean };
    // n20, n200…n209 and n2000…n2009 match.
    expect([few.count, few.count_capped]).toEqual([21, false]);
    expect(few.results.map((r) => r.summary)).toEqual([
      'bulkcap b3 n2004',
      'bulkcap b3 n2003',
      'bulkcap b3 n2002',
      'bulkcap b3 n2001',
      'bulkcap b3 n2000',
    ]);
  });
});

/** Entries written in one unit of work outside any request, as a CLI or job writes them. */
async function recordAsSystem(app: TestApp, entries: AuditEntryInput[]): Promise<void> {
  const audit = app.app.get(AuditService);
  await requestContext.exit(() =>
    app.app.get(TransactionRunner).run((manager) => audit.recordMany(manager, entries)),
  );
}

/** Search trigrams whose entry is gone. */
async function orphanGrams(app: TestApp): Promise<number> {
  const rows = await app.app
    .get(DataSource)
    .query<{ n: number }[]>(
      'SELECT COUNT(*) AS n FROM audit_log_grams g LEFT JOIN audit_log e ON e.id = g.log_id WHERE e.id IS NULL',
    );
  return Number(rows[0].n);
}

/** Each of these runs its own app with other settings. */
describe('audit log settings', () => {
  it('purges entries past the retention period in batches, keeping the rest', async () => {
    const r = await createTestApp({ AUDIT_RETENTION_DAYS: '2' });
    try {
      const token = { Authorization: `Token ${await r.adminToken()}` };
      for (let i = 0; i < 3; i++) await createUser(r, { username: `old${i}user` });
      r.advanceClock(3 * 24 * 3600 * 1000);
      await createUser(r, { username: 'newuser1' });
      const count = async () =>
        ((await r.http.get(`${API}/log/`).set(token).expect(200)).body as LogPage).count;
      const before = await count();
      // Bootstrap (admin created), first login, three users: five entries older than two days.
      expect(await r.app.get(AuditService).purgeExpired()).toBe(5);
      expect(await count()).toBe(before - 5);
      // The purged entries' search trigrams went with them.
      expect(await orphanGrams(r)).toBe(0);
      expect((await r.http.get(`${API}/log/?summary=newuser1`).set(token).expect(200)).body.count).toBe(1);
      const left = (await r.http.get(`${API}/log/`).set(token).expect(200)).body as LogPage;
      expect(left.results.map((e) => e.summary)).toEqual(['创建用户 newuser1']);
      expect(await r.app.get(AuditService).purgeExpired()).toBe(0);
    } finally {
      await r.close();
    }
  });

  it('a purge beside the search indexer leaves no trigram of a purged entry behind', async () => {
    const r = await createTestApp({ AUDIT_RETENTION_DAYS: '2' });
    try {
      const audit = r.app.get(AuditService);
      const indexer = r.app.get(AuditSearchIndexer);
      for (let round = 0; round < 8; round++) {
        await recordAsSystem(
          r,
          Array.from({ length: 60 }, (_, i) => ({
            subject: 'user_update' as const,
            summary: `purge race r${round} entry ${i} 修改用户`,
          })),
        );
        r.advanceClock(3 * 24 * 3600 * 1000);
        // The entries are still queued for the index: it and the purge run at once.
        const [, purged] = await Promise.all([indexer.drain(), audit.purgeExpired()]);
        expect(purged).toBeGreaterThanOrEqual(60);
        await indexer.drain();
        expect(await orphanGrams(r)).toBe(0);
      }
    } finally {
      await r.close();
    }
  });

  it('trusts X-Forwarded-For only from trusted proxies, and records nothing when audit is off', async () => {
    const proxied = await createTestApp({ TRUST_PROXY: 'loopback', AUDIT_ENABLED: 'false' });
    try {
      expect(proxied.logs.some((l) => l.includes('AUDIT LOG IS OFF'))).toBe(true);
      const token = { Authorization: `Token ${await proxied.adminToken()}` };
      await createUser(proxied, { username: 'offuser1' });
      expect(((await proxied.http.get(`${API}/log/`).set(token).expect(200)).body as LogPage).count).toBe(0);
    } finally {
      await proxied.close();
    }
    const trusted = await createTestApp({ TRUST_PROXY: 'loopback' });
    try {
      const token = { Authorization: `Token ${await trusted.adminToken()}` };
      await trusted.http
        .patch(`${API}/user/admin/`)
        .set(token)
        .set('X-Forwarded-For', '198.51.100.1, 203.0.113.9')
        .send({ remark: 'via proxy' })
        .expect(200);
      const page = (await trusted.http.get(`${API}/log/?subject=user_update`).set(token).expect(200))
        .body as LogPage;
      const entry = await trusted.http.get(`${API}/log/${page.results[0].uuid}/`).set(token).expect(200);
      // The nearest untrusted address: the proxy at 203.0.113.9 is not loopback, so it is the client.
      expect(entry.body.ip).toBe('203.0.113.9');
      // The OAuth provider's requests are answered before Express, by the same rule.
      const legacy = await registerApp(trusted, { authorization_grant_type: 'password' });
      await tokenRequest(trusted, legacy)
        .set('X-Forwarded-For', '198.51.100.1, 203.0.113.9')
        .send({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD })
        .expect(200);
      const logins = (await trusted.http.get(`${API}/log/?subject=ucenter_login`).set(token).expect(200))
        .body as LogPage;
      const login = await trusted.http.get(`${API}/log/${logins.results[0].uuid}/`).set(token).expect(200);
      expect(login.body.ip).toBe('203.0.113.9');
    } finally {
      await trusted.close();
    }
  });
});

describe('audit log for a sub-admin', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('shows a log reader only the entries about users and nodes in its scope', async () => {
    const admin = { Authorization: `Token ${await t.adminToken()}` };
    for (const uid of ['sain', 'saout']) {
      await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid, name: uid }).expect(201);
    }
    const inside = await createUser(t, { username: 'scopedin' });
    await createUser(t, { username: 'scopedout' });
    for (const [uid, username] of [
      ['sain', 'scopedin'],
      ['saout', 'scopedout'],
    ]) {
      await t.http
        .patch(`${API}/dept/${uid}/user/`)
        .set(admin)
        .send({ subject: 'add', user_uids: [username] })
        .expect(200);
    }
    const reader = await createUser(t, { username: 'logreader' });
    const plain = await createUser(t, { username: 'nopowers' });
    for (const [name, perms, member] of [
      ['auditmg', ['system_log_read'], reader.username],
      ['plainmg', [], plain.username],
    ] as const) {
      const group = await t.http
        .post(`${API}/node/g_manager/node/`)
        .set(admin)
        .send({ name, manager_group: { scope_subject: 2, nodes: ['d_sain'], perms } })
        .expect(201);
      await t.http
        .patch(`${API}/group/${(group.body as { uid: string }).uid}/user/`)
        .set(admin)
        .send({ subject: 'add', user_uids: [member] })
        .expect(200);
    }
    for (const username of ['scopedin', 'scopedout']) {
      await t.http.patch(`${API}/user/${username}/`).set(admin).send({ remark: 'seen?' }).expect(200);
    }
    for (const uid of ['sain', 'saout']) {
      await t.http.patch(`${API}/dept/${uid}/`).set(admin).send({ remark: 'seen?' }).expect(200);
    }
    const all = (await t.http.get(`${API}/log/?page_size=100`).set(admin).expect(200)).body as LogPage;

    const sub = { Authorization: `Token ${await login(t.http, reader)}` };
    const seen = (await t.http.get(`${API}/log/?page_size=100`).set(sub).expect(200)).body as LogPage;
    expect(seen.count).toBeGreaterThan(0);
    expect(seen.count).toBe(seen.results.length);
    expect(seen.results.every((e) => /scopedin|d_sain/.test(e.summary))).toBe(true);
    expect(seen.results.map((e) => e.summary)).toEqual(
      expect.arrayContaining(['创建用户 scopedin', '修改用户 scopedin: remark', '修改部门 sain (d_sain)']),
    );
    const hidden = all.results.filter((e) => !seen.results.some((s) => s.uuid === e.uuid));
    expect(hidden.some((e) => e.summary.includes('scopedout'))).toBe(true);
    expect(hidden.some((e) => e.summary === '修改部门 saout (d_saout)')).toBe(true);
    // Out of scope reads as not found; entries about nothing in particular are for superusers.
    for (const e of hidden) await t.http.get(`${API}/log/${e.uuid}/`).set(sub).expect(404);
    await t.http.get(`${API}/log/${seen.results[0].uuid}/`).set(sub).expect(200);
    const csv = await t.http.get(`${API}/log/export/`).set(sub).expect(200);
    expect(csv.text.trimEnd().split('\r\n')).toHaveLength(seen.count + 1);
    expect(csv.text).not.toContain('scopedout');
    expect(
      (await t.http.get(`${API}/log/?user=admin&subject=user_update`).set(sub).expect(200)).body.count,
    ).toBe(1);
    await t.http.get(`${API}/meta/log/`).set(sub).expect(403);
    expect(inside.username).toBe('scopedin');

    const other = { Authorization: `Token ${await login(t.http, plain)}` };
    await t.http.get(`${API}/log/`).set(other).expect(403);
  });
});
