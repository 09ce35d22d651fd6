import { DataSource } from 'typeorm';
import { FakeDingTalk, seedDirectory } from './harness/dingtalk-fake';
import { API, createTestApp, createUser, login, type TestApp } from './harness/test-app';

interface TaskResult {
  task_id: string;
  status: number;
  status_raw: string;
  failure: string | null;
  dead_letter: boolean;
  errors: { record: string; code: string; message: string }[];
  progress: { stage: string; done: number; total: number };
  result: {
    dry_run: boolean;
    writes: number;
    peak_requests_per_second: number;
    users: Record<string, number>;
    departments: Record<string, number>;
    groups?: Record<string, number>;
  } | null;
}

/**
 * DingTalk sync without Redis: the API runs the jobs in-process, against the loopback DingTalk, on
 * SQLite or MariaDB. The worker-process suite (dingtalk-worker) runs the same pull through BullMQ.
 */
describe('DingTalk sync, in-process jobs', () => {
  const fake = new FakeDingTalk();
  let t: TestApp;
  let admin: string;
  let db: DataSource;

  const auth = () => ({ Authorization: `Token ${admin}` });
  const waitTask = async (taskId: string, timeoutMs = 45000): Promise<TaskResult> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await t.http.get(`${API}/task/${taskId}/result/`).set(auth());
      expect(res.status).toBe(200);
      const body = res.body as TaskResult;
      if (body.status === 3 || body.status === 4) return body;
      if (Date.now() > deadline) throw new Error(`task ${taskId} still ${body.status_raw}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const pull = async (dryRun = false): Promise<TaskResult> => {
    const res = await t.http.post(`${API}/task/import/ding/${dryRun ? '?dry_run=true' : ''}`).set(auth());
    expect(res.status).toBe(200);
    return waitTask((res.body as { task_id: string }).task_id);
  };
  const count = async (sql: string, params: unknown[] = []): Promise<number> => {
    const rows: { n: number | string }[] = await db.query(sql, params);
    return Number(rows[0]?.n ?? 0);
  };
  const userByUsername = async (username: string) =>
    (await t.http.get(`${API}/user/${username}/`).set(auth())).body as Record<string, unknown>;
  const deptNamesOf = async (username: string): Promise<string[]> => {
    const res = await t.http.get(`${API}/user/${username}/dept/`).set(auth());
    return ((res.body as { depts?: { name: string }[] }).depts ?? []).map((d) => d.name).sort();
  };

  beforeAll(async () => {
    const base = await fake.start();
    t = await createTestApp({
      DINGTALK_API_BASE: base,
      DINGTALK_NEW_API_BASE: base,
      DINGTALK_APP_KEY: fake.appKey,
      DINGTALK_APP_SECRET: fake.appSecret,
      DINGTALK_QR_APP_ID: fake.qrAppId,
      DINGTALK_QR_APP_SECRET: fake.qrAppSecret,
    });
    admin = await t.adminToken();
    db = t.app.get(DataSource);
  }, 120000);

  afterAll(async () => {
    await t?.close();
    await fake.stop();
  });

  it('refuses unknown tasks (404) and sync calls without the power (403)', async () => {
    expect(
      (await t.http.get(`${API}/task/00000000-0000-0000-0000-000000000000/result/`).set(auth())).status,
    ).toBe(404);
    expect((await t.http.get(`${API}/task/not-a-task/result/`).set(auth())).status).toBe(404);
    const plain = await createUser(t);
    const token = await login(t.http, { username: plain.username, password: plain.password });
    expect(
      (await t.http.post(`${API}/task/import/ding/`).set('Authorization', `Token ${token}`)).status,
    ).toBe(403);
    expect((await t.http.get(`${API}/sync/ding/config/`).set('Authorization', `Token ${token}`)).status).toBe(
      403,
    );
  });

  it('names the missing scope in the preflight and fails the pull at once with it', async () => {
    fake.reset();
    seedDirectory(fake, 3, 5);
    fake.scopes.delete('qyapi_get_department_member');
    const preflight = await t.http.post(`${API}/sync/ding/preflight/`).set(auth());
    expect(preflight.status).toBe(200);
    expect(preflight.body).toMatchObject({
      ok: false,
      credentials: true,
      missing_scope: 'qyapi_get_department_member',
    });
    const usersBefore = await count('SELECT COUNT(*) AS n FROM users');
    const result = await pull();
    expect(result.status).toBe(3);
    expect(result.status_raw).toBe('FAILURE');
    expect(result.dead_letter).toBe(true);
    expect(result.failure).toContain('qyapi_get_department_member');
    expect(await count('SELECT COUNT(*) AS n FROM users')).toBe(usersBefore);
    fake.scopes.add('qyapi_get_department_member');
    expect((await t.http.post(`${API}/sync/ding/preflight/`).set(auth())).body).toMatchObject({
      ok: true,
      missing_scope: null,
    });
  });

  it('validates cron schedules in standard order (D30); credentials are not taken here', async () => {
    const bad = await t.http.patch(`${API}/sync/ding/config/`).set(auth()).send({ pull_cron: '0 3 * *' });
    expect(bad.status).toBe(400);
    expect(bad.body).toHaveProperty('pull_cron');
    const moved = await t.http
      .patch(`${API}/sync/ding/config/`)
      .set(auth())
      .send({ pull_cron: '30 2 * * 1', qr_app_secret: fake.qrAppSecret });
    expect(moved.status).toBe(400);
    expect(moved.body).toEqual({ qr_app_secret: ['DingTalk credentials are set in config/ (ding_config).'] });
    const saved = await t.http
      .patch(`${API}/sync/ding/config/`)
      .set(auth())
      .send({ pull_cron: '30 2 * * 1' });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ pull_cron: '30 2 * * 1', push_cron: null, app_configured: true });
    expect(JSON.stringify(saved.body)).not.toContain(fake.appSecret);
    // Monday 02:30 in the server's time zone (Asia/Shanghai): minute 30, hour 2, day-of-week 1.
    const next = new Date(saved.body.pull_next_run_at as string);
    const local = new Date(next.getTime() + 8 * 3600000);
    expect([local.getUTCDay(), local.getUTCHours(), local.getUTCMinutes()]).toEqual([1, 2, 30]);
    await t.http.patch(`${API}/sync/ding/config/`).set(auth()).send({ pull_cron: null });
  });

  it('dry run returns the diff and writes nothing; the real pull creates it all; a second pull writes nothing', async () => {
    fake.reset();
    seedDirectory(fake, 12, 40);
    // A local account with a DingTalk member's mobile: the first pull adopts it instead of duplicating.
    const local = await createUser(t, { mobile: '13900000003', name: 'Local name', remark: 'kept' });
    // A local account that happens to hold a DingTalk member's derived username, and nothing else of it.
    await createUser(t, { username: 'staff00006', name: 'Someone else' });
    const usersBefore = await count('SELECT COUNT(*) AS n FROM users');
    const auditBefore = await count('SELECT COUNT(*) AS n FROM audit_log');

    const dry = await pull(true);
    expect(dry.status).toBe(4);
    expect(dry.result).toMatchObject({ dry_run: true, writes: 0 });
    expect(dry.result?.users.create).toBe(39);
    expect(dry.result?.users.update).toBe(1);
    expect(dry.result?.departments.create).toBe(12);
    expect(await count('SELECT COUNT(*) AS n FROM users')).toBe(usersBefore);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log')).toBe(auditBefore);

    // A double click: both requests get the same task.
    const first = await t.http.post(`${API}/task/import/ding/`).set(auth());
    const second = await t.http.get(`${API}/task/import/ding/`).set(auth());
    expect(second.body.task_id).toBe(first.body.task_id);
    const full = await waitTask(first.body.task_id as string);
    expect(full.status).toBe(4);
    expect(full.status_raw).toBe('SUCCESS');
    expect(full.result?.users.create).toBe(39);
    expect(await count('SELECT COUNT(*) AS n FROM users')).toBe(usersBefore + 39);
    expect(await count('SELECT COUNT(*) AS n FROM ding_users')).toBe(40);
    expect(await count('SELECT COUNT(DISTINCT user_id) AS n FROM ding_users')).toBe(40);

    const adopted = await userByUsername(local.username);
    expect(adopted).toMatchObject({ name: '员工3', remark: 'kept', mobile: '13900000003' });
    // Synced users carry ding_user (the DingTalk userid, the account it signs in with, the data).
    expect(adopted.ding_user).toMatchObject({ uid: 'staff00003', account: '13900000003' });
    expect(JSON.parse((adopted.ding_user as { data: string }).data)).toMatchObject({
      name: '员工3',
      mobile: '13900000003',
    });
    expect((await userByUsername('staff00006')).ding_user).toBeUndefined();
    // staff00000 is in two departments (i % 7 === 0) and keeps both.
    expect(await deptNamesOf('staff00000')).toEqual(['部门0', '部门3']);
    expect(await deptNamesOf('staff00001')).toEqual(['部门1']);
    expect((await userByUsername('staff00006')).name).toBe('Someone else');
    expect((await userByUsername('staff000062')).name).toBe('员工6');
    // Department order follows DingTalk's.
    const tree = await t.http.get(`${API}/dept/root/dept/`).set(auth());
    expect(((tree.body as { depts: { name: string }[] }).depts ?? []).map((d) => d.name)).toEqual([
      '部门0',
      '部门1',
      '部门2',
      '部门3',
      '部门4',
      '部门5',
      '部门6',
      '部门7',
      '部门8',
      '部门9',
    ]);

    const auditAfterFull = await count('SELECT COUNT(*) AS n FROM audit_log');
    const updatedAt = await db.query('SELECT MAX(updated_at) AS m FROM users');
    const again = await pull();
    expect(again.status).toBe(4);
    expect(again.result?.writes).toBe(0);
    expect(again.result?.users.unchanged).toBe(40);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log')).toBe(auditAfterFull);
    expect(await db.query('SELECT MAX(updated_at) AS m FROM users')).toEqual(updatedAt);
  });

  it('user and dept lists carry ding_user / ding_dept in a fixed number of queries per page (no N+1)', async () => {
    // Counts every statement the app sends to the database while one request runs (SQLite hands out
    // one shared query runner, MariaDB one per connection: each is wrapped once).
    let queries = 0;
    const wrapped = new WeakSet<object>();
    const original = db.createQueryRunner.bind(db);
    db.createQueryRunner = (...args: Parameters<DataSource['createQueryRunner']>) => {
      const runner = original(...args);
      if (wrapped.has(runner)) return runner;
      wrapped.add(runner);
      const query = runner.query.bind(runner);
      runner.query = ((...q: Parameters<typeof runner.query>) => {
        queries += 1;
        return query(...q);
      }) as typeof runner.query;
      return runner;
    };
    // The fewest of three runs: a background statement (the scheduler's look) may land in one.
    const measured = async (path: string) => {
      let fewest = Infinity;
      let body: { results: Record<string, unknown>[] } = { results: [] };
      for (let run = 0; run < 3; run++) {
        queries = 0;
        const res = await t.http.get(`${API}${path}`).set(auth());
        expect(res.status).toBe(200);
        fewest = Math.min(fewest, queries);
        body = res.body as typeof body;
      }
      return { body, queries: fewest };
    };
    try {
      const small = await measured('/user/?page_size=3');
      const large = await measured('/user/?page_size=40');
      expect(large.body.results.length).toBeGreaterThan(30);
      expect(large.body.results.filter((u) => u.ding_user).length).toBeGreaterThanOrEqual(38);
      expect(large.queries).toBe(small.queries);
      // Both pages full (a short last page saves the count query).
      const depts = await measured('/dept/?page_size=2');
      const moreDepts = await measured('/dept/?page_size=12');
      expect(moreDepts.queries).toBe(depts.queries);
      const synced = moreDepts.body.results.filter((d) => d.ding_dept);
      expect(synced).toHaveLength(12);
      expect(synced.map((d) => (d.ding_dept as { uid: unknown }).uid).every(Number.isInteger)).toBe(true);
    } finally {
      db.createQueryRunner = original;
    }
    const dept = await t.http.get(`${API}/dept/root/dept/`).set(auth());
    const first = (dept.body as { depts: Record<string, unknown>[] }).depts[0];
    expect(first).toMatchObject({ name: '部门0', ding_dept: { uid: 100 } });
    expect(JSON.parse((first.ding_dept as { data: string }).data)).toMatchObject({ name: '部门0' });
    const detail = await t.http.get(`${API}/dept/${first.uid as string}/`).set(auth());
    expect(detail.body).toMatchObject({ ding_dept: { uid: 100 } });
    expect((await t.http.get(`${API}/dept/root/`).set(auth())).body.ding_dept).toBeUndefined();
    // DingTalk role groups and roles are groups under g_role, with ding_group.
    const roles = await t.http.get(`${API}/node/g_role/node/`).set(auth());
    expect(roles.status).toBe(200);
    const roleGroup = (roles.body as { nodes: Record<string, unknown>[] }).nodes.find(
      (n) => n.name === '职务',
    );
    expect(roleGroup?.ding_group).toMatchObject({ uid: 9001, subject: 'role', is_group: true });
    const role = await t.http.get(`${API}/node/${roleGroup?.node_uid as string}/node/`).set(auth());
    expect((role.body as { nodes: Record<string, unknown>[] }).nodes[0]?.ding_group).toMatchObject({
      uid: 9101,
      is_group: false,
    });
  });

  it('incremental pull: renames, moves, new and changed members; local fields and memberships survive', async () => {
    const group = await t.http.post(`${API}/node/g_label/node/`).set(auth()).send({ name: 'local label' });
    expect(group.status).toBe(201);
    const labelUid = (group.body as { node_uid: string }).node_uid;
    expect(
      (
        await t.http
          .patch(`${API}/node/${labelUid}/user/`)
          .set(auth())
          .send({ subject: 'add', user_uids: ['staff00001'] })
      ).status,
    ).toBe(200);
    fake.depts.get(101)!.name = '研发部';
    fake.depts.get(111)!.parent_id = 102; // moves a department
    fake.users.get('staff00001')!.dept_id_list = [102];
    fake.users.get('staff00002')!.title = '架构师';
    fake.addUser({ userid: 'newcomer', name: '新人', mobile: '13711112222', dept_id_list: [101] });
    const result = await pull();
    expect(result.status).toBe(4);
    expect(result.result?.users).toMatchObject({ create: 1, move: 1 });
    expect(result.result?.departments).toMatchObject({ update: 1, move: 1 });
    expect(await deptNamesOf('staff00001')).toEqual(['部门2']);
    expect((await userByUsername('staff00002')).position).toBe('架构师');
    expect(await deptNamesOf('newcomer')).toEqual(['研发部']);
    const nodes = await t.http.get(`${API}/user/staff00001/node/`).set(auth());
    expect(JSON.stringify(nodes.body)).toContain('local label');
  });

  it('handles throttling (90018) by waiting, and never sends more than 20 requests a second', async () => {
    fake.log.length = 0;
    fake.throttleNext('topapi/v2/user/list', 3);
    const result = await pull();
    expect(result.status).toBe(4);
    expect(result.result?.writes).toBe(0);
    expect(result.result?.peak_requests_per_second).toBeGreaterThan(10);
    expect(result.result?.peak_requests_per_second).toBeLessThanOrEqual(20);
    // DingTalk's side: the fake answers 90018 above 20 a second; the three injected ones were all.
    expect(fake.peakPerSecond()).toBeLessThanOrEqual(22);
  });

  it('leavers: disabled by default, back when they return; ignore lists them; delete removes them', async () => {
    const gone = fake.users.get('staff00004')!;
    fake.users.delete('staff00004');
    let result = await pull();
    expect(result.result?.users.disable).toBe(1);
    expect((await userByUsername('staff00004')).is_active).toBe(false);
    fake.users.set(gone.userid, gone);
    result = await pull();
    expect(result.result?.users.enable).toBe(1);
    expect((await userByUsername('staff00004')).is_active).toBe(true);

    await t.http.patch(`${API}/sync/ding/config/`).set(auth()).send({ leaver_policy: 'ignore' });
    fake.users.delete('staff00005');
    result = await pull();
    expect(result.result?.users.leavers_ignored).toBe(1);
    expect(result.errors.some((e) => e.record === 'staff00005' && e.code === 'leaver_ignored')).toBe(true);
    expect((await userByUsername('staff00005')).is_active).toBe(true);

    await t.http
      .patch(`${API}/sync/ding/config/`)
      .set(auth())
      .send({ leaver_policy: 'delete', leaver_delete_days: 0 });
    result = await pull();
    expect(result.result?.users.delete).toBe(1);
    expect((await t.http.get(`${API}/user/staff00005/`).set(auth())).status).toBe(404);
    await t.http.patch(`${API}/sync/ding/config/`).set(auth()).send({ leaver_policy: 'disable' });
  });

  it('push: dry run lists the changes; the real run creates them in DingTalk, audited', async () => {
    const dept = await t.http.post(`${API}/dept/root/dept/`).set(auth()).send({ name: '本地部门' });
    expect(dept.status).toBe(201);
    const deptUid = (dept.body as { uid: string }).uid;
    const created0 = await t.http
      .post(`${API}/user/`)
      .set(auth())
      .send({ user: { username: 'pushme01', name: 'Push Me', mobile: '13655556666' }, dept_uids: [deptUid] });
    expect(created0.status).toBe(201);
    const writesBefore = fake.writes.length;
    const dryTicket = await t.http.post(`${API}/task/override/ding/?dry_run=true`).set(auth());
    const dry = await waitTask(dryTicket.body.task_id as string);
    expect(dry.status).toBe(4);
    expect(dry.result?.departments.create).toBe(1);
    expect(dry.result?.users.create).toBeGreaterThanOrEqual(1);
    expect(fake.writes.length).toBe(writesBefore);

    const ticket = await t.http.post(`${API}/task/override/ding/`).set(auth());
    const pushed = await waitTask(ticket.body.task_id as string);
    expect(pushed.status).toBe(4);
    const created = [...fake.users.values()].find((u) => u.mobile === '13655556666');
    expect(created?.name).toBe('Push Me');
    expect([...fake.depts.values()].some((d) => d.name === '本地部门')).toBe(true);
    expect(
      await count("SELECT COUNT(*) AS n FROM audit_log WHERE subject = 'sync_ding_push'"),
    ).toBeGreaterThan(0);
  });

  it('fires a configured schedule once when due, and the schedule survives in the database', async () => {
    const before = await count("SELECT COUNT(*) AS n FROM tasks WHERE job_name = 'ding.pull'");
    const set = await t.http.patch(`${API}/sync/ding/config/`).set(auth()).send({ pull_cron: '*/5 * * * *' });
    expect(set.status).toBe(200);
    const due = new Date(set.body.pull_next_run_at as string).getTime();
    expect(due).toBeGreaterThan(Date.now());
    expect(due - Date.now()).toBeLessThanOrEqual(5 * 60000);
    // Move the app's clock past the due time; the scheduler looks every few seconds.
    t.advanceClock(due - Date.now() + 1000);
    const deadline = Date.now() + 20000;
    while ((await count("SELECT COUNT(*) AS n FROM tasks WHERE job_name = 'ding.pull'")) === before) {
      if (Date.now() > deadline) throw new Error('the schedule did not fire');
      await new Promise((r) => setTimeout(r, 200));
    }
    const [fired] = await db.query<{ task_id: string; payload: string }[]>(
      "SELECT task_id, payload FROM tasks WHERE job_name = 'ding.pull' ORDER BY id DESC LIMIT 1",
    );
    expect(JSON.parse(fired?.payload ?? '{}')).toEqual({ scheduled: true });
    expect((await waitTask(fired?.task_id ?? '')).status).toBe(4);
    // Fired once: the next run moved on to the following slot.
    const after = await t.http.get(`${API}/sync/ding/config/`).set(auth());
    expect(new Date(after.body.pull_next_run_at as string).getTime()).toBeGreaterThan(due);
    expect(await count("SELECT COUNT(*) AS n FROM tasks WHERE job_name = 'ding.pull'")).toBe(before + 1);
    expect(
      (await t.http.patch(`${API}/sync/ding/config/`).set(auth()).send({ pull_cron: null })).body.pull_cron,
    ).toBeNull();
  });

  it('signs in with a DingTalk in-app code and the QR callback; rejects unknown codes', async () => {
    fake.loginCodes.set('code-1', 'staff00001');
    const ok = await t.http.post(`${API}/ucenter/ding/login/`).send({ code: 'code-1' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ username: 'staff00001' });
    expect(ok.body.token).toMatch(/^[0-9a-f]{40,}$/);
    const used = await t.http.post(`${API}/ucenter/ding/login/`).send({ code: 'code-1' });
    expect(used.status).toBe(400);
    // Matched on ding_user.uid, not on the username: the adopted local account of staff00003 signs in.
    const adopted = (await t.http.get(`${API}/user/?page_size=100`).set(auth())).body as {
      results: { username: string; ding_user?: { uid: string } }[];
    };
    const target = adopted.results.find((u) => u.ding_user?.uid === 'staff00003');
    expect(target?.username).not.toBe('staff00003');
    fake.loginCodes.set('code-3', 'staff00003');
    const byUid = await t.http.post(`${API}/ucenter/ding/login/`).send({ code: 'code-3' });
    expect(byUid.status).toBe(200);
    expect(byUid.body.username).toBe(target?.username);
    // A DingTalk member with no Arbor account is not registered.
    fake.addUser({ userid: 'unsynced', name: '未同步', mobile: '13799990000', dept_id_list: [1] });
    fake.loginCodes.set('code-x', 'unsynced');
    const unknown = await t.http.post(`${API}/ucenter/ding/login/`).send({ code: 'code-x' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('not registered');
    fake.users.delete('unsynced');
    expect((await t.http.post(`${API}/ucenter/ding/login/`).send({})).status).toBe(400);

    fake.qrCodes.set('qr-1', 'staff00002');
    const qr = await t.http.post(`${API}/ding/qr/callback/`).send({ code: 'qr-1' });
    expect(qr.status).toBe(200);
    expect(qr.body).toMatchObject({ username: 'staff00002' });
    fake.oauthCodes.set('auth-1', 'staff00003');
    const current = await t.http.post(`${API}/ding/qr/callback/`).send({ authCode: 'auth-1' });
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ mobile: '13900000003' });
    expect((await t.http.post(`${API}/ding/qr/callback/`).send({ authCode: 'auth-1' })).status).toBe(400);
    fake.qrCodes.set('qr-2', 'nobody');
    const stranger = await t.http.post(`${API}/ding/qr/callback/`).send({ code: 'qr-2' });
    expect(stranger.body).toEqual({ token: '', third_party_id: 'stranger-qr-2' });

    // A throttled exchange is waited out; one DingTalk keeps refusing is "busy", never "invalid code".
    const throttled = { errcode: 90018, errmsg: '当前请求过多, 请稍后重试' };
    fake.qrCodes.set('qr-3', 'staff00001');
    fake.inject('sns/getuserinfo_bycode', 1, throttled);
    const waited = await t.http.post(`${API}/ding/qr/callback/`).send({ code: 'qr-3' });
    expect(waited.status).toBe(200);
    expect(waited.body).toMatchObject({ username: 'staff00001' });
    fake.qrCodes.set('qr-4', 'staff00001');
    fake.inject('sns/getuserinfo_bycode', 3, throttled);
    const busy = await t.http.post(`${API}/ding/qr/callback/`).send({ code: 'qr-4' });
    expect(busy.status).toBe(503);
    expect(busy.body).toEqual({ err_msg: 'DingTalk is busy, try again in a moment' });
  });
});
