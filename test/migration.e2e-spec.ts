import { API, createTestApp, createUser, type TestApp } from './harness/test-app';

type Headers = { Authorization: string };
const HEADER = 'username,name,email,private_email,mobile,gender,avatar,position,employee_number';

describe('CSV import and export', () => {
  let t: TestApp;
  let admin: Headers;
  beforeAll(async () => {
    t = await createTestApp();
    admin = { Authorization: `Token ${await t.adminToken()}` };
  });
  afterAll(() => t.close());

  const upload = (content: string | Buffer, fields: Record<string, string> = {}) => {
    const req = t.http.post(`${API}/migration/user/csv/import/`).set(admin);
    for (const [name, value] of Object.entries(fields)) void req.field(name, value);
    return req.attach(
      'users',
      Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'),
      'users.csv',
    );
  };
  const userCount = async () =>
    (await t.http.get(`${API}/user/?page_size=1`).set(admin).expect(200)).body.count as number;

  it('imports a BOM + CRLF file with quoted commas and newlines, then writes nothing on re-import', async () => {
    const csv =
      '\ufeff' +
      [
        HEADER,
        'csvwang01,王小明,wang@corp.example,Wang@Home.example,13800000001,1,,"Sales, East","E-001"',
        'csvli0002,"Li ""Lee""\r\nSecond line",li@corp.example,,+852 61234567,2,,,',
        '',
      ].join('\r\n');
    const first = await upload(csv).expect(200);
    expect(first.body).toEqual({
      dry_run: false,
      total: 2,
      created: ['csvwang01', 'csvli0002'],
      updated: [],
      unchanged: 0,
    });
    const wang = await t.http.get(`${API}/user/csvwang01/`).set(admin).expect(200);
    expect(wang.body).toMatchObject({
      name: '王小明',
      private_email: 'wang@home.example',
      position: 'Sales, East',
      has_password: false,
      origin_verbose: '脚本添加',
    });
    const li = await t.http.get(`${API}/user/csvli0002/`).set(admin).expect(200);
    expect(li.body.name).toBe('Li "Lee"\r\nSecond line');

    const again = await upload(csv).expect(200);
    expect(again.body).toMatchObject({ created: [], updated: [], unchanged: 2 });
    const updatedAt = (await t.http.get(`${API}/user/csvwang01/`).set(admin).expect(200)).body;
    expect(updatedAt).toEqual(wang.body);

    const changed = await upload(`${HEADER}\ncsvwang01,王大明,,,,,,,\n`).expect(200);
    expect(changed.body).toMatchObject({ updated: ['csvwang01'] });
  });

  it('reports what a dry run would do and writes nothing', async () => {
    const before = await userCount();
    const res = await upload(`username,name\ndryrun01,Dry\ncsvwang01,Renamed\n`, { dry_run: 'true' }).expect(
      200,
    );
    expect(res.body).toMatchObject({
      dry_run: true,
      total: 2,
      created: ['dryrun01'],
      updated: ['csvwang01'],
    });
    expect(await userCount()).toBe(before);
    expect((await t.http.get(`${API}/user/csvwang01/`).set(admin).expect(200)).body.name).not.toBe('Renamed');
  });

  it('reports every bad row with its line and writes nothing', async () => {
    await createUser(t, { private_email: 'holder@home.example' });
    const before = await userCount();
    const csv = [
      'username,name,private_email,mobile',
      'goodrow01,Good,,',
      'BAD,Bad,,',
      'goodrow02,Good,not-an-email,',
      'goodrow03,"x' + 'y'.repeat(300) + '",,12345',
      'goodrow01,Again,,',
      'goodrow04,Taken,holder@home.example,',
    ].join('\n');
    const res = await upload(csv);
    expect(res.status).toBe(400);
    expect(Object.keys(res.body).sort()).toEqual(['3', '4', '5', '6', '7']);
    expect(res.body['3']).toHaveProperty('username');
    expect(res.body['4']).toHaveProperty('private_email');
    expect(res.body['5']).toEqual(
      expect.objectContaining({ name: expect.any(Array), mobile: expect.any(Array) }),
    );
    expect(res.body['6'].username[0]).toContain('Duplicate');
    expect(res.body['7']).toEqual({ private_email: ['existed'] });
    expect(await userCount()).toBe(before);
  });

  it.each([
    ['a wrong header', 'login,name\nabcd1234,x\n'],
    ['a header without username', 'name,email\nx,y@z.example\n'],
    ['an empty file', ''],
    ['a header and no rows', `${HEADER}\n`],
    ['binary garbage', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0xff, 0xfe])],
    ['invalid UTF-8', Buffer.concat([Buffer.from('username,name\nabcd1234,'), Buffer.from([0xc3, 0x28])])],
    ['an unterminated quote', 'username,name\nabcd1234,"open\n'],
  ])('refuses %s with a clear 400', async (_name, content) => {
    const before = await userCount();
    const res = await upload(content);
    expect(res.status).toBe(400);
    expect(Object.keys(res.body)).toEqual(['users']);
    expect(await userCount()).toBe(before);
  });

  it('refuses a request without the file or with an unknown node', async () => {
    const noFile = await t.http
      .post(`${API}/migration/user/csv/import/`)
      .set(admin)
      .field('node_uid', 'd_root');
    expect(noFile.status).toBe(400);
    const json = await t.http.post(`${API}/migration/user/csv/import/`).set(admin).send({ users: 'x' });
    expect(json.status).toBe(400);
    expect((await upload('username\nnodeuser1\n', { node_uid: 'd_nosuch' })).status).toBe(404);
    expect((await t.http.get(`${API}/user/nodeuser1/`).set(admin)).status).toBe(404);
  });

  it('adds every imported user to node_uid', async () => {
    await t.http
      .post(`${API}/dept/root/dept/`)
      .set(admin)
      .send({ uid: 'imported', name: 'Imported' })
      .expect(201);
    await upload('username,name\nnodeuser1,N1\nnodeuser2,N2\n', { node_uid: 'd_imported' }).expect(200);
    const members = await t.http.get(`${API}/dept/imported/user/`).set(admin).expect(200);
    expect((members.body.results as { username: string }[]).map((u) => u.username)).toEqual([
      'nodeuser1',
      'nodeuser2',
    ]);
    const again = await upload('username,name\nnodeuser1,N1\nnodeuser2,N2\n', {
      node_uid: 'd_imported',
    }).expect(200);
    expect(again.body).toMatchObject({ created: [], updated: [], unchanged: 2 });
  });

  it('exports listed users, and 404 for an unknown one', async () => {
    const res = await t.http
      .post(`${API}/migration/user/csv/export/`)
      .set(admin)
      .send({ user_uids: ['csvwang01'] })
      .buffer(true)
      .parse((response, done) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => done(null, Buffer.concat(chunks).toString('utf8')));
      })
      .expect(200);
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="users-\d{8}T\d{6}\.csv"/);
    const text = res.body as string;
    expect(text.startsWith('\ufeff' + HEADER + '\r\n')).toBe(true);
    expect(text).toContain('csvwang01,王大明');
    expect(text.trim().split('\r\n')).toHaveLength(2);
    const unknown = await t.http
      .post(`${API}/migration/user/csv/export/`)
      .set(admin)
      .send({ user_uids: ['nosuchuser'] });
    expect(unknown.status).toBe(404);
  });
});

describe('CSV round trip', () => {
  let source: TestApp;
  let exported = '';

  it('exports every user of one database and reproduces them in an empty one', async () => {
    source = await createTestApp();
    for (let i = 0; i < 30; i++) {
      await createUser(source, {
        name: `员工 ${i}, "q"`,
        mobile: `1390000${String(i).padStart(4, '0')}`,
        gender: i % 3,
      });
    }
    const admin = { Authorization: `Token ${await source.adminToken()}` };
    const res = await source.http
      .post(`${API}/migration/user/csv/export/`)
      .set(admin)
      .send({})
      .buffer(true)
      .parse((response, done) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => done(null, Buffer.concat(chunks).toString('utf8')));
      })
      .expect(200);
    exported = res.body as string;
    const original = (await source.http.get(`${API}/user/?page_size=100`).set(admin).expect(200)).body
      .results as Record<string, unknown>[];
    await source.close();

    const target = await createTestApp();
    try {
      const targetAdmin = { Authorization: `Token ${await target.adminToken()}` };
      // The admin account exists on both sides; everything else is created.
      const imported = await target.http
        .post(`${API}/migration/user/csv/import/`)
        .set(targetAdmin)
        .attach('users', Buffer.from(exported, 'utf8'), 'users.csv')
        .expect(200);
      expect(imported.body.created).toHaveLength(30);
      const copy = (await target.http.get(`${API}/user/?page_size=100`).set(targetAdmin).expect(200)).body
        .results as Record<string, unknown>[];
      const fields = [
        'username',
        'name',
        'email',
        'private_email',
        'mobile',
        'gender',
        'avatar',
        'position',
        'employee_number',
      ];
      const pick = (u: Record<string, unknown>) => Object.fromEntries(fields.map((f) => [f, u[f]]));
      expect(copy.map(pick)).toEqual(original.map(pick));
    } finally {
      await target.close();
    }
  });
});
