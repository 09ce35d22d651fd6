import { API, createTestApp, createUser, login, type TestApp } from './harness/test-app';

describe('users', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    admin = { Authorization: `Token ${await t.adminToken()}` };
  });
  afterAll(() => t.close());

  const usernamesOf = (res: { body: { results: { username: string }[] } }) =>
    res.body.results.map((u) => u.username);
  const count = async (query = '') =>
    (await t.http.get(`${API}/user/?page_size=1${query}`).set(admin).expect(200)).body.count as number;

  it('creates a user and answers the Employee shape, dropping read-only and unknown fields', async () => {
    const res = await t.http
      .post(`${API}/user/`)
      .set(admin)
      .send({
        user: {
          username: 'lilei2026',
          name: '李雷',
          password: 'Li-lei-pass-1',
          private_email: 'LiLei@Example.com',
          mobile: '+852 61234567',
          gender: 1,
          hiredate: '2026-03-01T09:00:00+08:00',
          is_admin: true,
          user_id: 999,
          created: '2000-01-01T00:00:00Z',
          favourite_colour: 'red',
        },
      })
      .expect(201);
    expect(res.body).toMatchObject({
      username: 'lilei2026',
      name: '李雷',
      private_email: 'lilei@example.com',
      mobile: '+852 61234567',
      gender: 1,
      hiredate: '2026-03-01T09:00:00+08:00',
      is_admin: false,
      has_password: true,
      is_settled: false,
      origin_verbose: '管理员添加',
      nodes: [],
    });
    expect(res.body.user_id).not.toBe(999);
    expect(res.body.created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    expect(res.body).not.toHaveProperty('password');
    expect(res.body).not.toHaveProperty('password_hash');
    const detail = await t.http.get(`/siteapi/oneid/user/lilei2026/`).set(admin).expect(200);
    expect(detail.body.name).toBe('李雷');
  });

  it('answers uniqueness violations with the field named, and writes nothing', async () => {
    await createUser(t, { username: 'uniqa', private_email: 'uniq@example.com', mobile: '13600000001' });
    const before = await count();
    const cases: [Record<string, unknown>, string][] = [
      [{ username: 'uniqa' }, 'username'],
      [{ username: 'uniqb', private_email: 'UNIQ@example.com' }, 'private_email'],
      [{ username: 'uniqc', mobile: '13600000001' }, 'mobile'],
    ];
    for (const [user, field] of cases) {
      const res = await t.http.post(`${API}/user/`).set(admin).send({ user }).expect(400);
      expect(res.body).toEqual({ [field]: ['existed'] });
    }
    const other = await createUser(t, { username: 'uniqd' });
    const patch = await t.http
      .patch(`${API}/user/${other.username}/`)
      .set(admin)
      .send({ mobile: '13600000001' })
      .expect(400);
    expect(patch.body).toEqual({ mobile: ['existed'] });
    expect(await count()).toBe(before + 1);
  });

  it('answers every class of bad input with 400 and a clear message, writing nothing', async () => {
    const before = await count();
    const bad: [unknown, Record<string, unknown>][] = [
      [{}, { user: ['This field is required.'] }],
      [{ user: 'bob' }, { user: ['Expected an object.'] }],
      [{ user: { username: 'ab' } }, { user: { username: [expect.stringMatching(/valid username/)] } }],
      [{ user: { username: 'Bad_Name' } }, { user: { username: [expect.stringMatching(/valid username/)] } }],
      [{ user: { username: 'okname1', name: 42 } }, { user: { name: ['Not a valid string.'] } }],
      [
        { user: { username: 'okname1', name: 'x'.repeat(256) } },
        { user: { name: [expect.stringMatching(/no more than 255/)] } },
      ],
      [
        { user: { username: 'okname1', gender: 7 } },
        { user: { gender: [expect.stringMatching(/less than or equal to 2/)] } },
      ],
      [{ user: { username: 'okname1', gender: 1e20 } }, { user: { gender: [expect.any(String)] } }],
      [
        { user: { username: 'okname1', gender: 'one' } },
        { user: { gender: ['A valid integer is required.'] } },
      ],
      [
        { user: { username: 'okname1', mobile: '12345' } },
        { user: { mobile: [expect.stringMatching(/valid mobile/)] } },
      ],
      [
        { user: { username: 'okname1', private_email: 'not-an-email' } },
        { user: { private_email: ['Enter a valid email address.'] } },
      ],
      [
        { user: { username: 'okname1', hiredate: 'tomorrow' } },
        { user: { hiredate: [expect.stringMatching(/Datetime/)] } },
      ],
      [{ user: { username: 'okname1', name: null } }, { user: { name: ['This field may not be null.'] } }],
      [
        { user: { username: 'okname1', password: 'short' } },
        { password: [expect.stringMatching(/at least 8/)] },
      ],
      [
        { user: { username: 'okname1', password: 'password123' } },
        { password: ['This password is too common.'] },
      ],
      [
        { user: { username: 'okname1', password: 'p'.repeat(200) } },
        { user: { password: [expect.stringMatching(/no more than 128/)] } },
      ],
      [{ user: { username: 'okname1' }, node_uids: 'd_x' }, { node_uids: ['Expected a list of items.'] }],
      [{ user: { username: 'okname1' }, dept_uids: ['nowhere'] }, { dept_uids: ['nowhere does not exist'] }],
    ];
    for (const [body, expected] of bad) {
      const res = await t.http
        .post(`${API}/user/`)
        .set(admin)
        .send(body as object);
      expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: expected });
    }
    const malformed = await t.http
      .post(`${API}/user/`)
      .set(admin)
      .set('Content-Type', 'application/json')
      .send('{"user": {');
    expect(malformed.status).toBe(400);
    expect(malformed.body.detail).toMatch(/JSON parse error/);
    const huge = await t.http
      .post(`${API}/user/`)
      .set(admin)
      .send({ user: { username: 'okname1', remark: 'x'.repeat(2_000_000) } });
    expect(huge.status).toBe(413);
    expect(await count()).toBe(before);
  });

  it('accepts form-encoded bodies', async () => {
    const res = await t.http
      .post(`${API}/user/`)
      .set(admin)
      .type('form')
      .send('user[username]=formuser&user[name]=Form&user[gender]=2&user[require_reset_password]=True')
      .expect(201);
    expect(res.body).toMatchObject({
      username: 'formuser',
      gender: 2,
      require_reset_password: true,
      has_password: false,
    });
  });

  it('updates with PATCH and PUT, keeps the username immutable, and echoes the User', async () => {
    const u = await createUser(t, { remark: 'old' });
    const res = await t.http
      .patch(`${API}/user/${u.username}/`)
      .set(admin)
      .send({ ...u.body, remark: 'new', position: '工程师', is_admin: true, hiredate: null })
      .expect(200);
    expect(res.body).toMatchObject({
      username: u.username,
      remark: 'new',
      position: '工程师',
      is_admin: false,
      hiredate: null,
    });
    expect(res.body).not.toHaveProperty('nodes');
    await t.http.put(`${API}/user/${u.username}/`).set(admin).send({ name: 'Put Name' }).expect(200);
    const renamed = await t.http
      .patch(`${API}/user/${u.username}/`)
      .set(admin)
      .send({ username: 'someoneelse' })
      .expect(400);
    expect(renamed.body).toEqual({ username: ['this field is immutable'] });
    await t.http.patch(`${API}/user/nosuchuser/`).set(admin).send({ name: 'x' }).expect(404);
    await t.http
      .patch(`${API}/user/${u.username}/password/`)
      .set(admin)
      .send({ password: 'New-pass-123' })
      .expect(400);
  });

  it('deletes a user as a tombstone: 404 afterwards and the identifiers free again', async () => {
    const u = await createUser(t, {
      username: 'gonesoon',
      private_email: 'gone@example.com',
      mobile: '13500000005',
    });
    await t.http.delete(`${API}/user/gonesoon/`).set(admin).expect(204);
    await t.http.get(`${API}/user/gonesoon/`).set(admin).expect(404);
    await t.http.delete(`${API}/user/gonesoon/`).set(admin).expect(404);
    await t.http.post(`${API}/ucenter/login/`).send(u).expect(400);
    await createUser(t, { username: 'gonesoon', private_email: 'gone@example.com', mobile: '13500000005' });
  });

  it('refuses to let an admin delete or disable their own account', async () => {
    const res = await t.http.delete(`${API}/user/admin/`).set(admin).expect(400);
    expect(res.body.non_field_errors[0]).toMatch(/your own account/);
    await t.http.patch(`${API}/user/admin/`).set(admin).send({ is_active: false }).expect(400);
  });

  it('filters, sorts and paginates like ArkID', async () => {
    const tag = `f${Date.now().toString(36)}`;
    const names = ['alpha', 'bravo', 'charlie'];
    for (const [i, n] of names.entries()) {
      await createUser(t, {
        username: `${tag}${n}`,
        name: `${n} ${tag}`,
        email: `${n}@corp.example`,
        gender: i,
        remark: 'R_%',
      });
    }
    const list = (query: string) => t.http.get(`${API}/user/?${query}`).set(admin).expect(200);
    expect((await list(`keyword=${tag}`)).body.count).toBe(3);
    expect((await list(`keyword=${tag.toUpperCase()}`)).body.count).toBe(3);
    expect(usernamesOf(await list(`username=${tag}bravo`))).toEqual([`${tag}bravo`]);
    expect((await list(`name__icontains=CHARLIE ${tag}`)).body.count).toBe(1);
    expect((await list(`keyword=${tag}&gender=2`)).body.count).toBe(1);
    expect((await list(`keyword=${tag}&remark__icontains=_%25`)).body.count).toBe(3);
    expect((await list(`keyword=${tag}&remark__icontains=x%25`)).body.count).toBe(0);
    expect((await list(`usernames=${tag}alpha ${tag}charlie`)).body.count).toBe(2);
    const sorted = await list(`keyword=${tag}&sort=-username`);
    expect(usernamesOf(sorted)).toEqual(names.map((n) => tag + n).reverse());
    expect((await list(`keyword=${tag}&created__gte=2000-01-01&created__lte=2999-01-01`)).body.count).toBe(3);
    expect((await list(`keyword=${tag}&created__gte=2999-01-01`)).body.count).toBe(0);
    expect((await list(`keyword=${tag}&last_active_time__gte=2000-01-01`)).body.count).toBe(0);

    const page1 = await list(`keyword=${tag}&page_size=2`);
    expect(page1.body).toMatchObject({ count: 3, previous: null });
    expect(page1.body.results).toHaveLength(2);
    expect(page1.body.next).toBe(`http://arbor.test${API}/user/?keyword=${tag}&page_size=2&page=2`);
    const page2 = await list(`keyword=${tag}&page_size=2&page=2`);
    expect(page2.body.results).toHaveLength(1);
    expect(page2.body.next).toBeNull();
    expect(page2.body.previous).toBe(`http://arbor.test${API}/user/?keyword=${tag}&page_size=2`);
    await t.http
      .get(`${API}/user/?keyword=${tag}&page=3&page_size=2`)
      .set(admin)
      .expect(404, { detail: 'Invalid page.' });
    const bad = await t.http.get(`${API}/user/?sort=password_hash`).set(admin).expect(400);
    expect(bad.body).toEqual({ sort: "Invalid order_by argument: 'password_hash'" });
    await t.http.get(`${API}/user/?created__gte=soon`).set(admin).expect(400);
    // Admins are not employees in the list.
    expect((await list('username=admin')).body.count).toBe(0);
  });

  it('records last activity on sign-in and lists it by range', async () => {
    const u = await createUser(t);
    await login(t.http, u);
    const res = await t.http.get(`${API}/user/${u.username}/`).set(admin).expect(200);
    expect(res.body.is_settled).toBe(true);
    expect(res.body.last_active_time).not.toBeNull();
    const active = await t.http
      .get(`${API}/user/?usernames=${u.username}&last_active_time__gte=2000-01-01`)
      .set(admin);
    expect(active.body.count).toBe(1);
  });
});
