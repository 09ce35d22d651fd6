import { API, createTestApp, createUser, login, type TestApp } from './harness/test-app';

type Headers = { Authorization: string };
type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

/**
 * Delegated administration (contract §3.6, §4.2). The org used by the matrix:
 *
 *   d_root ── X ── X1        (d_Y is X's sibling)
 *          └─ Y
 *   users: inX (X), inX1 (X1), both (X1 and Y), inY (Y), listed (no node), admin (also put in X)
 *   apps:  mine (managed by the scope-1 group), other (managed by nobody)
 *
 *   scope1: direct member of X and of MG1 {scope 1, apps [mine], perms [system_user_create]}
 *   scope2: member of MG2 {scope 2, nodes [d_Y], users [listed]}
 *
 * Every row is one request by one sub-admin with the status it must get. Objects outside the scope read
 * as not found (404, or 400 "does not exist" inside a body), never as forbidden.
 */
describe('sub-admin scope', () => {
  let t: TestApp;
  let admin: Headers;
  const ids = `${process.pid % 10000}`;
  const X = `x${ids}`;
  const X1 = `xa${ids}`;
  const Y = `y${ids}`;
  const CAT = `cat${ids}`;
  const people: Record<'inX' | 'inX1' | 'both' | 'inY' | 'listed' | 'scope1' | 'scope2' | 'plain', string> = {
    inX: '',
    inX1: '',
    both: '',
    inY: '',
    listed: '',
    scope1: '',
    scope2: '',
    plain: '',
  };
  const tokens: Record<'scope1' | 'scope2' | 'plain', Headers> = {
    scope1: { Authorization: '' },
    scope2: { Authorization: '' },
    plain: { Authorization: '' },
  };
  let mine = '';
  let other = '';
  let mg1 = '';
  let mg2 = '';

  const join = (kind: 'dept' | 'group', uid: string, usernames: string[]) =>
    t.http
      .patch(`${API}/${kind}/${uid}/user/`)
      .set(admin)
      .send({ subject: 'add', user_uids: usernames })
      .expect(200);
  const person = async () => {
    const user = await createUser(t);
    return user;
  };
  const signIn = async (username: string, password: string): Promise<Headers> => ({
    Authorization: `Token ${await login(t.http, { username, password })}`,
  });

  beforeAll(async () => {
    t = await createTestApp();
    admin = { Authorization: `Token ${await t.adminToken()}` };
    await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: X, name: X }).expect(201);
    await t.http.post(`${API}/dept/${X}/dept/`).set(admin).send({ uid: X1, name: X1 }).expect(201);
    await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: Y, name: Y }).expect(201);
    const passwords: Record<string, string> = {};
    for (const key of Object.keys(people) as (keyof typeof people)[]) {
      const user = await person();
      people[key] = user.username;
      passwords[key] = user.password;
    }
    await join('dept', X, [people.inX, people.scope1, 'admin']);
    await join('dept', X1, [people.inX1, people.both]);
    await join('dept', Y, [people.inY, people.both]);
    mine = (
      (
        await t.http
          .post(`${API}/app/`)
          .set(admin)
          .send({ name: `mine${ids}` })
          .expect(201)
      ).body as {
        uid: string;
      }
    ).uid;
    other = (
      (
        await t.http
          .post(`${API}/app/`)
          .set(admin)
          .send({ name: `other${ids}` })
          .expect(201)
      ).body as {
        uid: string;
      }
    ).uid;
    const g1 = await t.http
      .post(`${API}/node/g_manager/node/`)
      .set(admin)
      .send({
        name: `mg1${ids}`,
        manager_group: { scope_subject: 1, apps: [mine], perms: ['system_user_create'] },
      })
      .expect(201);
    mg1 = (g1.body as { uid: string }).uid;
    const g2 = await t.http
      .post(`${API}/node/g_manager/node/`)
      .set(admin)
      .send({
        name: `mg2${ids}`,
        manager_group: { scope_subject: 2, nodes: [`d_${Y}`], users: [people.listed] },
      })
      .expect(201);
    mg2 = (g2.body as { uid: string }).uid;
    await join('group', mg1, [people.scope1]);
    await join('group', mg2, [people.scope2]);
    for (const key of ['scope1', 'scope2', 'plain'] as const) {
      tokens[key] = await signIn(people[key], passwords[key]);
    }
  });
  afterAll(() => t.close());

  const call = (headers: Headers, method: Method, path: string, body?: object) => {
    const req = t.http[method](`${API}/${path}`).set(headers);
    return body === undefined ? req : req.send(body);
  };

  describe('the matrix', () => {
    type Row = [
      who: 'scope1' | 'scope2' | 'plain',
      method: Method,
      path: () => string,
      body: (() => object) | null,
      status: number,
    ];
    const u = (key: keyof typeof people) => () => people[key];
    const rows: Row[] = [
      // users: scope 1 manages X and below; a user in two nodes counts if one is managed
      ['scope1', 'get', () => `user/${u('inX')()}/`, null, 200],
      ['scope1', 'get', () => `user/${u('inX1')()}/`, null, 200],
      ['scope1', 'get', () => `user/${u('both')()}/`, null, 200],
      ['scope1', 'get', () => `user/${u('inY')()}/`, null, 404],
      ['scope1', 'get', () => `user/${u('listed')()}/`, null, 404],
      ['scope1', 'get', () => 'user/admin/', null, 404],
      ['scope1', 'patch', () => `user/${u('inX1')()}/`, () => ({ name: 'renamed by scope1' }), 200],
      ['scope1', 'patch', () => `user/${u('inY')()}/`, () => ({ name: 'nope' }), 404],
      ['scope1', 'patch', () => 'user/admin/', () => ({ name: 'nope' }), 404],
      [
        'scope1',
        'patch',
        () => `user/${u('inY')()}/password/`,
        () => ({ password: 'Another-pass-77', require_reset_password: false }),
        404,
      ],
      ['scope1', 'delete', () => `user/${u('inY')()}/`, null, 404],
      [
        'scope1',
        'post',
        () => 'user/',
        () => ({ user: { username: `new1${ids}`, name: 'n' }, dept_uids: [X1] }),
        201,
      ],
      [
        'scope1',
        'post',
        () => 'user/',
        () => ({ user: { username: `new2${ids}`, name: 'n' }, dept_uids: [Y] }),
        400,
      ],
      // scope 2 manages the listed node and user
      ['scope2', 'get', () => `user/${u('inY')()}/`, null, 200],
      ['scope2', 'get', () => `user/${u('both')()}/`, null, 200],
      ['scope2', 'get', () => `user/${u('listed')()}/`, null, 200],
      ['scope2', 'get', () => `user/${u('inX1')()}/`, null, 404],
      ['scope2', 'patch', () => `user/${u('listed')()}/`, () => ({ name: 'renamed by scope2' }), 200],
      ['scope2', 'post', () => 'user/', () => ({ user: { username: `new3${ids}`, name: 'n' } }), 403],
      // a user in no sub-admin group is not an admin at all
      ['plain', 'get', () => 'user/', null, 403],
      ['plain', 'get', () => `dept/${X}/`, null, 403],
      ['plain', 'get', () => `app/${mine}/`, null, 403],
      // nodes: managed subtrees in full; ancestors of them readable, not writable
      ['scope1', 'get', () => `dept/${X1}/`, null, 200],
      ['scope1', 'get', () => `dept/${Y}/`, null, 404],
      ['scope1', 'get', () => 'dept/root/', null, 200],
      ['scope1', 'patch', () => `dept/${X1}/`, () => ({ remark: 'scope1 was here' }), 200],
      ['scope1', 'patch', () => `dept/${Y}/`, () => ({ remark: 'nope' }), 404],
      ['scope1', 'patch', () => 'dept/root/', () => ({ remark: 'nope' }), 404],
      ['scope1', 'post', () => `dept/${X}/dept/`, () => ({ name: `sub${ids}` }), 201],
      ['scope1', 'post', () => `dept/${Y}/dept/`, () => ({ name: 'nope' }), 404],
      ['scope1', 'delete', () => `dept/${Y}/`, null, 404],
      ['scope1', 'patch', () => `dept/${X}/dept/`, () => ({ subject: 'add', dept_uids: [Y] }), 400],
      ['scope1', 'get', () => `dept/${Y}/list/`, null, 404],
      ['scope1', 'get', () => `dept/${X}/list/`, null, 200],
      ['scope1', 'get', () => `dept/${Y}/tree/?user_required=true`, null, 404],
      ['scope1', 'get', () => `dept/${Y}/dept/`, null, 404],
      ['scope1', 'get', () => `node/d_${Y}/`, null, 404],
      ['scope1', 'get', () => `group/${mg1}/`, null, 404],
      ['scope1', 'put', () => `dept/${Y}/`, () => ({ name: 'nope' }), 404],
      ['scope2', 'get', () => `dept/${Y}/`, null, 200],

      ['scope2', 'get', () => `dept/${X1}/`, null, 404],
      ['scope2', 'get', () => `dept/${X}/`, null, 404],
      // memberships: only managed users into managed nodes
      ['scope1', 'get', () => `dept/${Y}/user/`, null, 404],
      ['scope1', 'patch', () => `dept/${X1}/user/`, () => ({ subject: 'add', user_uids: [u('inY')()] }), 400],
      ['scope1', 'patch', () => `dept/${X1}/user/`, () => ({ subject: 'add', user_uids: [u('inX')()] }), 200],
      ['scope1', 'get', () => `user/${u('inY')()}/dept/`, null, 404],
      ['scope1', 'patch', () => `user/${u('inX')()}/dept/`, () => ({ subject: 'add', dept_uids: [Y] }), 400],
      // apps: only the apps a group lists
      ['scope1', 'get', () => `app/${mine}/`, null, 200],
      ['scope1', 'get', () => `app/${other}/`, null, 404],
      ['scope1', 'patch', () => `app/${other}/`, () => ({ remark: 'nope' }), 404],
      ['scope1', 'delete', () => `app/${other}/`, null, 404],
      ['scope1', 'post', () => 'app/', () => ({ name: 'nope' }), 403],
      ['scope1', 'post', () => `app/${mine}/oauth/`, () => ({ redirect_uris: 'https://a.test/cb' }), 403],
      ['scope2', 'get', () => `app/${mine}/`, null, 404],
      // permissions: of managed apps, granted only to managed owners; system ones never
      ['scope1', 'get', () => `perm/app_${mine}_access/owner/`, null, 200],
      ['scope1', 'get', () => `perm/app_${other}_access/`, null, 404],
      ['scope1', 'patch', () => `perm/app_${other}_access/`, () => ({ name: 'nope' }), 404],
      ['scope1', 'delete', () => `perm/app_${other}_access/`, null, 404],
      ['scope1', 'delete', () => `perm/app_${mine}_access/`, null, 405],
      ['scope1', 'get', () => `perm/app_${other}_access/owner/?value=true`, null, 404],
      ['scope2', 'get', () => 'user/isolated/', null, 200],
      ['scope1', 'get', () => 'perm/system_user_create/', null, 404],
      [
        'scope1',
        'patch',
        () => 'perm/system_log_read/owner/',
        () => ({ user_perm_status: [{ uid: u('inX')(), status: 1 }] }),
        404,
      ],
      [
        'scope1',
        'patch',
        () => `perm/app_${mine}_access/owner/`,
        () => ({ user_perm_status: [{ uid: u('inY')(), status: 1 }] }),
        400,
      ],
      [
        'scope1',
        'patch',
        () => `perm/app_${mine}_access/owner/`,
        () => ({ user_perm_status: [{ uid: u('inX')(), status: 1 }] }),
        200,
      ],
      ['scope1', 'post', () => 'perm/', () => ({ scope: other, name: 'nope' }), 400],
      ['scope1', 'post', () => 'perm/', () => ({ scope: mine, name: `extra${ids}` }), 201],
      ['scope1', 'get', () => `perm/user/${u('inY')()}/`, null, 404],
      [
        'scope1',
        'patch',
        () => `perm/user/${u('inX')()}/`,
        () => ({ perm_statuses: [{ uid: `app_${other}_access`, status: 1 }] }),
        400,
      ],
      ['scope1', 'get', () => `perm/dept/${Y}/`, null, 404],
      ['scope1', 'get', () => `user/${u('inX')()}/perm/app_${other}_access/`, null, 404],
      ['scope1', 'get', () => `user/${u('inX')()}/perm/app_${mine}_access/`, null, 200],
      ['scope1', 'get', () => 'meta/perm/', null, 403],
      ['scope1', 'post', () => `user/${u('inY')()}/unlock/`, null, 404],
      ['scope1', 'post', () => `user/${u('inX')()}/unlock/`, null, 200],
      ['scope1', 'post', () => 'user/admin/unlock/', null, 404],
      // CSV
      ['scope1', 'post', () => 'migration/user/csv/export/', () => ({ user_uids: [u('inY')()] }), 404],
      ['scope1', 'post', () => 'migration/user/csv/export/', () => ({ user_uids: [u('inX')()] }), 200],
      // sub-admin groups are for superusers: no group can widen itself
      ['scope1', 'get', () => 'node/g_manager/node/', null, 404],
      [
        'scope1',
        'patch',
        () => `node/g_${mg1}/`,
        () => ({ manager_group: { perms: ['system_app_create'] } }),
        404,
      ],
      [
        'scope1',
        'patch',
        () => `group/${mg1}/user/`,
        () => ({ subject: 'add', user_uids: [u('inX')()] }),
        404,
      ],
      ['scope1', 'post', () => 'node/g_manager/node/', () => ({ manager_group: { scope_subject: 1 } }), 404],
      // categories need the category power
      ['scope1', 'post', () => 'group/intra/group/', () => ({ name: 'nope' }), 403],
    ];

    it.each(rows.map((row, index) => [index, row[0], row[1], row] as const))(
      'row %i: %s %s',
      async (_index, who, method, [, , path, body, status]) => {
        const res = await call(tokens[who], method, path(), body?.());
        expect({ path: path(), status: res.status, body: res.status === status ? null : res.body }).toEqual({
          path: path(),
          status,
          body: null,
        });
        if (status === 404) expect(res.body).toEqual({ detail: 'Not found.' });
      },
    );
  });

  it('lists show only what is in scope', async () => {
    const users = (await call(tokens.scope1, 'get', 'user/?page_size=100').expect(200)).body as {
      results: { username: string }[];
    };
    const names = users.results.map((r) => r.username);
    expect(names).toEqual(expect.arrayContaining([people.inX, people.inX1, people.both]));
    expect(names).not.toContain(people.inY);
    expect(names).not.toContain(people.listed);
    expect(names).not.toContain('admin');

    const depts = (await call(tokens.scope1, 'get', 'dept/?page_size=100').expect(200)).body as {
      results: { uid: string }[];
    };
    expect(depts.results.map((d) => d.uid)).toEqual(expect.arrayContaining([X, X1]));
    expect(depts.results.map((d) => d.uid)).not.toContain(Y);

    const apps = (await call(tokens.scope1, 'get', 'app/').expect(200)).body as {
      results: { uid: string }[];
    };
    expect(apps.results.map((a) => a.uid)).toEqual([mine]);

    const perms = (await call(tokens.scope1, 'get', 'perm/?page_size=100').expect(200)).body as {
      results: { uid: string; subject: string }[];
    };
    expect(perms.results.length).toBeGreaterThan(0);
    expect(perms.results.every((p) => p.uid.startsWith(`app_${mine}_`))).toBe(true);

    const members = (await call(tokens.scope1, 'get', `dept/${X}/user/`).expect(200)).body as {
      results: { username: string }[];
    };
    // admin is a member of X but is not under any sub-admin's management.
    expect(members.results.map((m) => m.username)).not.toContain('admin');

    const tree = (await call(tokens.scope1, 'get', 'dept/root/tree/').expect(200)).body as {
      info: Record<string, unknown>;
      depts: { info: { uid: string; remark?: string }; depts: unknown[] }[];
    };
    // The root is shown reduced (a way down to X), Y is pruned.
    expect(tree.info.remark).toBeUndefined();
    expect(tree.depts.map((d) => d.info.uid)).toEqual([X]);

    const holders = (
      await call(tokens.scope1, 'get', `perm/app_${mine}_access/owner/?value=true&page_size=100`).expect(200)
    ).body as { results: { uid: string }[] };
    expect(holders.results.map((h) => h.uid)).toContain(people.inX);
    expect(holders.results.map((h) => h.uid)).not.toContain('admin');

    const isolated = (await call(tokens.scope2, 'get', 'user/isolated/?page_size=100').expect(200)).body as {
      results: { username: string }[];
    };
    expect(isolated.results.map((r) => r.username)).toContain(people.listed);
    expect(isolated.results.map((r) => r.username)).not.toContain(people.plain);

    const csv = await call(tokens.scope1, 'post', 'migration/user/csv/export/', {}).expect(200);
    expect(csv.text).toContain(people.inX1);
    expect(csv.text).not.toContain(people.inY);
  });

  it('overriding members keeps the members a sub-admin does not manage', async () => {
    await call(tokens.scope1, 'patch', `dept/${X}/user/`, {
      subject: 'override',
      user_uids: [people.inX],
    }).expect(200);
    const all = (await call(admin, 'get', `dept/${X}/user/?page_size=100`).expect(200)).body as {
      results: { username: string }[];
    };
    expect(all.results.map((m) => m.username).sort()).toEqual(['admin', people.inX].sort());
    await join('dept', X, [people.scope1]);
  });

  it('reports roles and powers at login and in the profile', async () => {
    const profile = (await call(tokens.scope1, 'get', 'ucenter/profile/').expect(200)).body as {
      roles: string[];
      powers: string[];
    };
    expect(profile.roles).toEqual(['manager']);
    expect(profile.powers).toEqual(['system_user_create']);
    const me = (await call(tokens.scope2, 'get', 'auth/token/').expect(200)).body as {
      roles: string[];
      powers: string[];
    };
    expect(me.roles).toEqual(['manager']);
    expect(me.powers).toEqual([]);
    const plain = (await call(tokens.plain, 'get', 'auth/token/').expect(200)).body as { roles: string[] };
    expect(plain.roles).toEqual([]);
    const boss = (await call(admin, 'get', 'ucenter/profile/').expect(200)).body as {
      roles: string[];
      powers: string[];
    };
    expect(boss.roles).toEqual(['admin']);
    expect(boss.powers).toHaveLength(6);
  });

  it('lists sub-admin groups with their settings for superusers', async () => {
    const list = (await call(admin, 'get', 'node/g_manager/node/').expect(200)).body as {
      nodes: {
        uid: string;
        manager_group: {
          scope_subject: number;
          nodes: { node_uid: string }[];
          users: { username: string }[];
          apps: { uid: string }[];
          perms: { uid: string }[];
        };
        users: { username: string }[];
      }[];
    };
    const one = list.nodes.find((n) => n.uid === mg1);
    const two = list.nodes.find((n) => n.uid === mg2);
    expect(one?.manager_group).toMatchObject({
      scope_subject: 1,
      nodes: [],
      users: [],
      apps: [{ uid: mine }],
    });
    expect(one?.manager_group.perms.map((p) => p.uid)).toEqual(['system_user_create']);
    expect(one?.users.map((m) => m.username)).toEqual([people.scope1]);
    expect(two?.manager_group).toMatchObject({
      scope_subject: 2,
      nodes: [{ node_uid: `d_${Y}` }],
      users: [{ username: people.listed }],
      apps: [],
      perms: [],
    });
    const detail = (await call(admin, 'get', `group/${mg2}/`).expect(200)).body as { manager_group: object };
    expect(detail.manager_group).toMatchObject({ scope_subject: 2 });
    // Creating the apps above gave their creator (admin) an automatic group each.
    const auto = list.nodes.find((n) => n.manager_group.apps.some((a) => a.uid === other));
    expect(auto).toMatchObject({ users: [{ username: 'admin' }], manager_group: { scope_subject: 2 } });
  });

  it('rejects unknown entries in a manager group with nothing written', async () => {
    const before = (
      (await call(admin, 'get', 'node/g_manager/node/').expect(200)).body as { nodes: unknown[] }
    ).nodes.length;
    const bad = await call(admin, 'post', 'node/g_manager/node/', {
      name: 'bad',
      manager_group: { perms: ['system_nonsense'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ perms: ['system_nonsense not found'] });
    expect(
      (await call(admin, 'post', 'node/g_manager/node/', { manager_group: { apps: ['nosuchapp'] } })).status,
    ).toBe(400);
    expect(
      (await call(admin, 'post', 'node/g_manager/node/', { manager_group: { scope_subject: 3 } })).status,
    ).toBe(400);
    expect(
      (await call(admin, 'post', 'node/g_manager/node/', { manager_group: { nodes: 'd_x' } })).status,
    ).toBe(400);
    const after = (
      (await call(admin, 'get', 'node/g_manager/node/').expect(200)).body as { nodes: unknown[] }
    ).nodes.length;
    expect(after).toBe(before);
    const unnamed = await call(admin, 'post', 'node/g_manager/node/', {
      manager_group: { scope_subject: 2 },
    }).expect(201);
    expect((unnamed.body as { name: string }).name).toMatch(/^[a-z]{8}$/);
  });

  it('gives the creator of a category or an app its own group, and a power holder its powers', async () => {
    const creator = await createUser(t);
    const headers = await signIn(creator.username, creator.password);
    expect((await call(headers, 'post', 'group/intra/group/', { uid: CAT, name: CAT })).status).toBe(403);
    await call(admin, 'patch', 'perm/system_category_create/owner/', {
      user_perm_status: [{ uid: creator.username, status: 1 }],
    }).expect(200);
    await call(admin, 'patch', 'perm/system_app_create/owner/', {
      user_perm_status: [{ uid: creator.username, status: 1 }],
    }).expect(200);
    // Powers are decided in real time: the very next request may use them.
    await call(headers, 'post', 'group/intra/group/', { uid: CAT, name: CAT }).expect(201);
    await call(headers, 'post', `group/${CAT}/group/`, { uid: `${CAT}a`, name: 'a' }).expect(201);
    const app = (await call(headers, 'post', 'app/', { name: `own${ids}` }).expect(201)).body as {
      uid: string;
    };
    await call(headers, 'get', `app/${app.uid}/`).expect(200);
    await call(headers, 'get', `app/${mine}/`).expect(404);
    const me = (await call(headers, 'get', 'ucenter/profile/').expect(200)).body as {
      roles: string[];
      powers: string[];
    };
    expect(me.roles).toEqual(['manager']);
    expect(me.powers).toEqual(['system_category_create', 'system_app_create']);
  });

  it('follows changes on the very next request', async () => {
    await call(tokens.scope1, 'get', `user/${people.inX1}/`).expect(200);
    // inX1 leaves X1 for Y: out of scope 1 at once.
    await call(admin, 'patch', `user/${people.inX1}/dept/`, { subject: 'override', dept_uids: [Y] }).expect(
      200,
    );
    await call(tokens.scope1, 'get', `user/${people.inX1}/`).expect(404);
    await call(tokens.scope2, 'get', `user/${people.inX1}/`).expect(200);
    // Y moves under X: everything in it comes under scope 1.
    await call(admin, 'patch', `dept/${X}/dept/`, { subject: 'add', dept_uids: [Y] }).expect(200);
    await call(tokens.scope1, 'get', `user/${people.inY}/`).expect(200);
    // Leaving the sub-admin group ends the role.
    await call(admin, 'patch', `group/${mg1}/user/`, {
      subject: 'delete',
      user_uids: [people.scope1],
    }).expect(200);
    await call(tokens.scope1, 'get', `user/${people.inY}/`).expect(403);
  });
});
