import { ChangeStamps } from '../src/common/database/change-stamps';
import { API, createTestApp, createUser, login, type TestApp } from './harness/test-app';

type Headers = { Authorization: string };
type Tree = {
  info: { uid: string; node_uid: string; name: string };
  users?: { username: string }[];
  headcount?: number;
} & Record<string, unknown>;

/** A response's list of nodes (under `key`) reduced to one field of each. */
function pluck(body: unknown, key: string, field = 'node_uid'): string[] {
  return ((body as Record<string, Record<string, string>[]>)[key] ?? []).map((n) => n[field]);
}

/** Child trees of a NodeTree under whichever collection key the route uses. */
function kids(tree: Tree): Tree[] {
  return (tree.depts ?? tree.groups ?? tree.nodes ?? []) as Tree[];
}

describe('organization trees', () => {
  let t: TestApp;
  let admin: Headers;
  beforeAll(async () => {
    t = await createTestApp();
    admin = { Authorization: `Token ${await t.adminToken()}` };
  });
  afterAll(() => t.close());

  const createDept = async (parent: string, body: Record<string, unknown>) =>
    (await t.http.post(`${API}/dept/${parent}/dept/`).set(admin).send(body).expect(201)).body as {
      uid: string;
      node_uid: string;
      dept_id: number;
    };
  const childUids = async (route: string, uid: string, key: string) =>
    (
      (await t.http.get(`${API}/${route}/${uid}/${route}/`).set(admin).expect(200)).body[key] as {
        uid: string;
      }[]
    ).map((c) => c.uid);

  it('has the built-in roots and categories after the first migration', async () => {
    for (const nodeUid of ['d_root', 'g_root', 'g_intra', 'g_extern', 'g_role', 'g_label', 'g_manager']) {
      const res = await t.http.get(`${API}/node/${nodeUid}/`).set(admin).expect(200);
      expect(res.body.node_uid).toBe(nodeUid);
    }
    const role = await t.http.get(`${API}/group/role/`).set(admin).expect(200);
    expect(role.body).toMatchObject({
      uid: 'role',
      node_subject: 'role',
      parent_node_uid: 'g_intra',
      visibility: 1,
    });
    const meta = await t.http.get(`${API}/meta/node/`).set(admin).expect(200);
    expect(meta.body[0]).toMatchObject({ slug: 'default', node_uid: null });
    expect(pluck((meta.body as unknown[])[0], 'nodes')).toEqual(['d_root', 'g_role', 'g_label']);
  });

  it('creates children last, generates uids from pinyin and refuses a taken uid', async () => {
    const parent = await createDept('root', { name: '华东区' });
    expect(parent.uid).toBe('huadongqu');
    const again = await createDept('root', { name: '华东区' });
    expect(again.uid).toBe('huadongqu1');
    await createDept(parent.uid, { uid: 'shanghai', name: '上海' });
    await createDept(parent.uid, { uid: 'hangzhou', name: '杭州' });
    expect(await childUids('dept', parent.uid, 'depts')).toEqual(['shanghai', 'hangzhou']);
    const taken = await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'shanghai', name: 'x' });
    expect(taken.status).toBe(400);
    expect(taken.body).toEqual({ uid: ['existed'] });
    const nameless = await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ remark: 'no name' });
    expect(nameless.status).toBe(400);
    expect(nameless.body).toHaveProperty('name');
    const badUid = await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'Not-OK', name: 'x' });
    expect(badUid.status).toBe(400);
    const detail = await t.http.get(`${API}/node/d_shanghai/`).set(admin).expect(200);
    expect(detail.body).toMatchObject({
      uid: 'shanghai',
      name: '上海',
      node_subject: 'dept',
      parent_uid: parent.uid,
      parent_node_uid: parent.node_uid,
      parent_name: '华东区',
      node_scope: [],
      user_scope: [],
    });
  });

  it('lists a subtree in pre-order and moves whole subtrees, refusing cycles', async () => {
    const a = await createDept('root', { uid: 'mva', name: 'A' });
    const b = await createDept(a.uid, { uid: 'mvb', name: 'B' });
    await createDept(b.uid, { uid: 'mvc', name: 'C' });
    const d = await createDept('root', { uid: 'mvd', name: 'D' });

    const listOf = async (uid: string) =>
      (
        (await t.http.get(`${API}/dept/${uid}/list/`).set(admin).expect(200)).body as {
          uid: string;
          parent_uid: string;
        }[]
      ).map((n) => `${n.uid}<${n.parent_uid}`);
    expect(await listOf('mva')).toEqual(['mva<root', 'mvb<mva', 'mvc<mvb']);

    await t.http
      .patch(`${API}/dept/mvd/dept/`)
      .set(admin)
      .send({ subject: 'add', dept_uids: ['mvb'] })
      .expect(200);
    expect(await listOf('mvd')).toEqual(['mvd<root', 'mvb<mvd', 'mvc<mvb']);
    expect(await listOf('mva')).toEqual(['mva<root']);

    for (const [target, moved] of [
      ['mvc', 'mvb'],
      ['mvb', 'mvb'],
      ['mvc', 'mvd'],
    ]) {
      const res = await t.http
        .patch(`${API}/dept/${target}/dept/`)
        .set(admin)
        .send({ subject: 'add', dept_uids: [moved] });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ node: ['deadlock'] });
    }
    expect(await listOf('mvd')).toEqual(['mvd<root', 'mvb<mvd', 'mvc<mvb']);
    expect(d.uid).toBe('mvd');

    const unknown = await t.http
      .patch(`${API}/dept/mvd/dept/`)
      .set(admin)
      .send({ subject: 'add', dept_uids: ['nosuch'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ dept_uids: ['nosuch does not exist'] });
    const badSubject = await t.http
      .patch(`${API}/dept/mvd/dept/`)
      .set(admin)
      .send({ subject: 'jump', dept_uids: [] });
    expect(badSubject.status).toBe(400);
    expect(badSubject.body).toHaveProperty('subject');
  });

  it('reorders only the listed children, as the contract example says', async () => {
    const parent = await createDept('root', { uid: 'sortp', name: 'sort' });
    for (const uid of ['sa', 'sb', 'sc', 'sd', 'se']) await createDept(parent.uid, { uid, name: uid });
    await t.http
      .patch(`${API}/dept/sortp/dept/`)
      .set(admin)
      .send({ subject: 'sort', dept_uids: ['sd', 'sb'] })
      .expect(200);
    expect(await childUids('dept', 'sortp', 'depts')).toEqual(['sa', 'sd', 'sc', 'sb', 'se']);
    const stranger = await t.http
      .patch(`${API}/dept/sortp/dept/`)
      .set(admin)
      .send({ subject: 'sort', dept_uids: ['mva'] });
    expect(stranger.status).toBe(400);
    expect(await childUids('dept', 'sortp', 'depts')).toEqual(['sa', 'sd', 'sc', 'sb', 'se']);
  });

  it('refuses to delete a node with children or members, and never a built-in node', async () => {
    const parent = await createDept('root', { uid: 'delp', name: 'del' });
    await createDept(parent.uid, { uid: 'delc', name: 'child' });
    const withChild = await t.http.delete(`${API}/dept/delp/`).set(admin);
    expect(withChild.status).toBe(400);
    expect(withChild.body).toEqual({ node: ['protected_by_child_node'] });

    const { username } = await createUser(t);
    await t.http
      .patch(`${API}/dept/delc/user/`)
      .set(admin)
      .send({ subject: 'add', user_uids: [username] })
      .expect(200);
    const withMember = await t.http.delete(`${API}/dept/delc/`).set(admin);
    expect(withMember.status).toBe(400);
    expect(withMember.body).toEqual({ node: ['protected_by_child_user'] });
    await t.http.delete(`${API}/dept/delc/?ignore_user=true`).set(admin).expect(204);
    await t.http.get(`${API}/dept/delc/`).set(admin).expect(404);
    await t.http.delete(`${API}/dept/delp/`).set(admin).expect(204);
    expect((await t.http.get(`${API}/user/${username}/dept/`).set(admin).expect(200)).body).toEqual({
      depts: [],
    });

    for (const nodeUid of ['d_root', 'g_role', 'g_extern']) {
      expect((await t.http.delete(`${API}/node/${nodeUid}/`).set(admin)).status).toBe(405);
    }
    expect((await t.http.patch(`${API}/group/label/`).set(admin).send({ name: 'Tags' })).status).toBe(405);
  });

  it('keeps custom categories with their own trees, separate from the built-in ones', async () => {
    const category = await t.http
      .post(`${API}/node/g_intra/node/`)
      .set(admin)
      .send({ uid: 'project', name: '项目' })
      .expect(201);
    expect(category.body).toMatchObject({
      node_uid: 'g_project',
      node_subject: 'project',
      parent_node_uid: 'g_intra',
    });
    const child = await t.http
      .post(`${API}/group/project/group/`)
      .set(admin)
      .send({ uid: 'apollo', name: 'Apollo' })
      .expect(201);
    expect(child.body.node_subject).toBe('project');
    const meta = await t.http.get(`${API}/meta/node/`).set(admin).expect(200);
    expect(meta.body[1]).toMatchObject({ slug: 'custom', node_uid: 'g_intra' });
    expect(meta.body[1].nodes).toEqual([{ name: '项目', node_uid: 'g_project', node_subject: 'project' }]);

    await t.http.patch(`${API}/group/project/`).set(admin).send({ name: '项目组' }).expect(200);
    const role = await t.http
      .post(`${API}/group/role/group/`)
      .set(admin)
      .send({ uid: 'lead', name: 'Lead' })
      .expect(201);
    expect(role.body.node_subject).toBe('role');
    const across = await t.http
      .patch(`${API}/group/apollo/group/`)
      .set(admin)
      .send({ subject: 'add', group_uids: ['lead'] });
    expect(across.status).toBe(400);
    expect(across.body).toEqual({ node: ['across_scope'] });
    const underRoot = await t.http.post(`${API}/group/root/group/`).set(admin).send({ name: 'stray' });
    expect(underRoot.status).toBe(400);

    await t.http.delete(`${API}/group/apollo/`).set(admin).expect(204);
    await t.http.delete(`${API}/group/project/`).set(admin).expect(204);
    expect((await t.http.get(`${API}/meta/node/`).set(admin).expect(200)).body[1].nodes).toEqual([]);
  });

  it('answers node routes with a bad prefix, unknown nodes and bad fields with 4xx and writes nothing', async () => {
    const bad = await t.http.get(`${API}/node/x_root/`).set(admin);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ uid: 'this field must start with `d_` or `g_`' });
    expect((await t.http.get(`${API}/node/d_nosuch/`).set(admin)).status).toBe(404);
    expect((await t.http.get(`${API}/dept/a%20b/`).set(admin)).status).toBe(404);
    await createDept('root', { uid: 'valid', name: 'valid' });
    for (const body of [
      { visibility: 9 },
      { visibility: 'often' },
      { name: 'x'.repeat(256) },
      { visibility: 4, node_scope: 'd_root' },
      { visibility: 4, node_scope: ['d_nosuch'] },
      { visibility: 4, user_scope: ['nosuchuser'] },
      { uid: 'other' },
    ]) {
      const res = await t.http.patch(`${API}/dept/valid/`).set(admin).send(body);
      expect([res.status, body]).toEqual([400, body]);
    }
    const after = await t.http.get(`${API}/dept/valid/`).set(admin).expect(200);
    expect(after.body).toMatchObject({ name: 'valid', visibility: 1, node_scope: [], user_scope: [] });
    const malformed = await t.http
      .patch(`${API}/dept/valid/`)
      .set(admin)
      .set('Content-Type', 'application/json')
      .send('{"name":');
    expect(malformed.status).toBe(400);
  });

  it('is for admins only; ordinary users get 403', async () => {
    const { username, password } = await createUser(t);
    const token = await login(t.http, { username, password });
    expect((await t.http.get(`${API}/dept/root/`).set('Authorization', `Token ${token}`)).status).toBe(403);
    expect((await t.http.get(`${API}/dept/root/`)).status).toBe(401);
  });
});

describe('memberships', () => {
  let t: TestApp;
  let admin: Headers;
  beforeAll(async () => {
    t = await createTestApp();
    admin = { Authorization: `Token ${await t.adminToken()}` };
    await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'sales', name: '销售部' }).expect(201);
    await t.http.post(`${API}/dept/sales/dept/`).set(admin).send({ uid: 'east', name: '华东' }).expect(201);
    await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'rnd', name: '研发部' }).expect(201);
    await t.http
      .post(`${API}/group/role/group/`)
      .set(admin)
      .send({ uid: 'engineer', name: '工程师' })
      .expect(201);
    await t.http
      .post(`${API}/group/label/group/`)
      .set(admin)
      .send({ uid: 'remote', name: '远程' })
      .expect(201);
  });
  afterAll(() => t.close());

  const members = async (route: string, uid: string) =>
    (
      (await t.http.get(`${API}/${route}/${uid}/user/?page_size=100`).set(admin).expect(200)).body
        .results as { username: string }[]
    ).map((u) => u.username);

  it('puts a user in nodes across categories and shows them on the Employee', async () => {
    const { username } = await createUser(t);
    const res = await t.http
      .patch(`${API}/user/${username}/node/`)
      .set(admin)
      .send({ subject: 'override', node_uids: ['d_east', 'd_rnd', 'g_engineer', 'g_remote'] })
      .expect(200);
    expect(pluck(res.body, 'nodes', 'node_uid').sort()).toEqual([
      'd_east',
      'd_rnd',
      'g_engineer',
      'g_remote',
    ]);
    const depts = await t.http.get(`${API}/user/${username}/dept/`).set(admin).expect(200);
    expect(pluck(depts.body, 'depts', 'uid').sort()).toEqual(['east', 'rnd']);
    const groups = await t.http.get(`${API}/user/${username}/group/`).set(admin).expect(200);
    expect(pluck(groups.body, 'groups', 'node_subject').sort()).toEqual(['label', 'role']);
    const employee = await t.http.get(`${API}/user/${username}/`).set(admin).expect(200);
    expect(pluck(employee.body, 'nodes', 'node_uid')).toEqual(['g_engineer', 'g_remote', 'd_east', 'd_rnd']);
    expect(employee.body.is_extern_user).toBe(false);

    await t.http
      .patch(`${API}/user/${username}/dept/`)
      .set(admin)
      .send({ subject: 'delete', dept_uids: ['rnd'] })
      .expect(200);
    const after = await t.http.get(`${API}/user/${username}/node/`).set(admin).expect(200);
    expect(pluck(after.body, 'nodes', 'node_uid')).toEqual(['d_east', 'g_engineer', 'g_remote']);
    const unknown = await t.http
      .patch(`${API}/user/${username}/node/`)
      .set(admin)
      .send({ subject: 'add', node_uids: ['d_nosuch', 'd_rnd'] });
    expect(unknown.status).toBe(400);
    expect(
      (await t.http.get(`${API}/user/${username}/node/`).set(admin).expect(200)).body.nodes,
    ).toHaveLength(3);
  });

  it('keeps an external user external when its groups are overridden', async () => {
    const { username } = await createUser(t);
    await t.http
      .patch(`${API}/node/g_extern/user/`)
      .set(admin)
      .send({ subject: 'add', user_uids: [username] })
      .expect(200);
    expect((await t.http.get(`${API}/user/${username}/`).set(admin).expect(200)).body.is_extern_user).toBe(
      true,
    );
    await t.http
      .patch(`${API}/user/${username}/group/`)
      .set(admin)
      .send({ subject: 'override', group_uids: ['remote'] })
      .expect(200);
    const groups = (await t.http.get(`${API}/user/${username}/group/`).set(admin).expect(200)).body
      .groups as { uid: string }[];
    expect(groups.map((g) => g.uid).sort()).toEqual(['extern', 'remote']);
    // g_extern is not listed among an Employee's nodes.
    const employee = await t.http.get(`${API}/user/${username}/`).set(admin).expect(200);
    expect(pluck(employee.body, 'nodes', 'node_uid')).toEqual(['g_remote']);
  });

  it('adds, sorts, overrides, moves out and deletes members', async () => {
    await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'team', name: 'team' }).expect(201);
    await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'other', name: 'other' }).expect(201);
    const names: string[] = [];
    for (let i = 0; i < 5; i++) names.push((await createUser(t)).username);
    const [a, b, c, d, e] = names;
    const patch = (body: object) => t.http.patch(`${API}/dept/team/user/`).set(admin).send(body);

    const added = await patch({ subject: 'add', user_uids: [a, b, c, d, e] }).expect(200);
    expect(pluck(added.body, 'users', 'username')).toEqual([a, b, c, d, e]);
    await patch({ subject: 'add', user_uids: [a] }).expect(200);
    expect(await members('dept', 'team')).toEqual([a, b, c, d, e]);

    await patch({ subject: 'sort', user_uids: [d, b] }).expect(200);
    expect(await members('dept', 'team')).toEqual([a, d, c, b, e]);

    await patch({ subject: 'move_out', user_uids: [c], dept_uids: ['other'] }).expect(200);
    expect(await members('dept', 'team')).toEqual([a, d, b, e]);
    expect(await members('dept', 'other')).toEqual([c]);

    const strangerSort = await patch({ subject: 'sort', user_uids: [c] });
    expect(strangerSort.status).toBe(400);
    const unknownUser = await patch({ subject: 'add', user_uids: [a, 'nosuchuser'] });
    expect(unknownUser.status).toBe(400);
    expect(unknownUser.body).toEqual({ user_uids: ['nosuchuser does not exist'] });

    await patch({ subject: 'override', user_uids: [e, a] }).expect(200);
    expect(await members('dept', 'team')).toEqual([e, a]);
    await patch({ subject: 'delete', user_uids: [e] }).expect(200);
    expect(await members('dept', 'team')).toEqual([a]);
    expect((await patch({ subject: 'add' })).status).toBe(400);
  });

  it('filters the user list by group and lists isolated users', async () => {
    const inGroup = (await createUser(t)).username;
    const loner = (await createUser(t, { name: '孤独的人' })).username;
    await t.http
      .patch(`${API}/group/engineer/user/`)
      .set(admin)
      .send({ subject: 'add', user_uids: [inGroup] })
      .expect(200);
    const usernamesOf = (body: { results: { username: string }[] }) => body.results.map((u) => u.username);

    const included = await t.http
      .get(`${API}/user/?group_uids=engineer&page_size=100`)
      .set(admin)
      .expect(200);
    expect(usernamesOf(included.body)).toContain(inGroup);
    expect(usernamesOf(included.body)).not.toContain(loner);
    const excluded = await t.http
      .get(`${API}/user/?-group_uids=engineer&page_size=100`)
      .set(admin)
      .expect(200);
    expect(usernamesOf(excluded.body)).toContain(loner);
    expect(usernamesOf(excluded.body)).not.toContain(inGroup);

    const isolated = await t.http.get(`${API}/user/isolated/?page_size=100`).set(admin).expect(200);
    expect(usernamesOf(isolated.body)).toContain(loner);
    expect(usernamesOf(isolated.body)).not.toContain(inGroup);

    const filtered = await t.http
      .get(`${API}/group/engineer/user/?username=${inGroup.slice(0, 6)}`)
      .set(admin)
      .expect(200);
    expect(usernamesOf(filtered.body)).toContain(inGroup);
    const intersect = await t.http.get(`${API}/group/engineer/user/?uids=remote`).set(admin).expect(200);
    expect(usernamesOf(intersect.body)).not.toContain(inGroup);
  });

  it('creates a user straight into nodes, and refuses unknown nodes without creating it', async () => {
    const created = await t.http
      .post(`${API}/user/`)
      .set(admin)
      .send({ user: { username: 'newbie01', name: 'New' }, node_uids: ['d_sales', 'g_remote'] })
      .expect(201);
    expect(pluck(created.body, 'nodes', 'node_uid')).toEqual(['g_remote', 'd_sales']);
    const refused = await t.http
      .post(`${API}/user/`)
      .set(admin)
      .send({ user: { username: 'newbie02', name: 'New' }, dept_uids: ['nosuch'] });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ dept_uids: ['nosuch does not exist'] });
    expect((await t.http.get(`${API}/user/newbie02/`).set(admin)).status).toBe(404);
  });

  it('moves the org change stamp with every membership and tree write, and only then', async () => {
    const stamp = async () => (await t.app.get(ChangeStamps).current(['org'])).get('org');
    const { username } = await createUser(t);
    const before = await stamp();
    await t.http.get(`${API}/user/${username}/node/`).set(admin).expect(200);
    expect(await stamp()).toBe(before);
    await t.http
      .patch(`${API}/user/${username}/dept/`)
      .set(admin)
      .send({ subject: 'add', dept_uids: ['rnd'] })
      .expect(200);
    const afterMembership = await stamp();
    expect(afterMembership).toBeGreaterThan(before ?? 0);
    await t.http
      .patch(`${API}/dept/rnd/dept/`)
      .set(admin)
      .send({ subject: 'add', dept_uids: ['east'] })
      .expect(200);
    expect(await stamp()).toBeGreaterThan(afterMembership ?? 0);
    await t.http
      .patch(`${API}/dept/sales/dept/`)
      .set(admin)
      .send({ subject: 'add', dept_uids: ['east'] })
      .expect(200);
  });

  it('shows members and head counts in tree/, and forgets a deleted user', async () => {
    await t.http.post(`${API}/dept/root/dept/`).set(admin).send({ uid: 'hq', name: 'HQ' }).expect(201);
    await t.http.post(`${API}/dept/hq/dept/`).set(admin).send({ uid: 'hqfin', name: 'Finance' }).expect(201);
    const x = (await createUser(t)).username;
    const y = (await createUser(t)).username;
    await t.http
      .patch(`${API}/dept/hq/user/`)
      .set(admin)
      .send({ subject: 'add', user_uids: [x] })
      .expect(200);
    await t.http
      .patch(`${API}/dept/hqfin/user/`)
      .set(admin)
      .send({ subject: 'add', user_uids: [x, y] })
      .expect(200);
    const tree = (await t.http.get(`${API}/dept/hq/tree/?user_required=true`).set(admin).expect(200))
      .body as Tree;
    expect(tree.info.uid).toBe('hq');
    expect(tree.users?.map((u) => u.username)).toEqual([x]);
    expect(tree.headcount).toBe(2);
    expect(kids(tree)[0].headcount).toBe(2);
    expect(Object.keys(tree)).toContain('depts');
    const bare = (await t.http.get(`${API}/dept/hq/tree/`).set(admin).expect(200)).body as Tree;
    expect(bare.users).toBeUndefined();

    await t.http.delete(`${API}/user/${y}/`).set(admin).expect(204);
    expect(await members('dept', 'hqfin')).toEqual([x]);
  });
});

describe('employee visibility', () => {
  let t: TestApp;
  let admin: Headers;
  const viewers: Record<string, Headers> = {};
  const usernames: Record<string, string> = {};

  // d_root ─ corp ─ sales ─ east
  //              └─ rnd
  beforeAll(async () => {
    t = await createTestApp();
    admin = { Authorization: `Token ${await t.adminToken()}` };
    const mk = (parent: string, uid: string) =>
      t.http.post(`${API}/dept/${parent}/dept/`).set(admin).send({ uid, name: uid }).expect(201);
    await mk('root', 'corp');
    await mk('corp', 'sales');
    await mk('sales', 'east');
    await mk('corp', 'rnd');
    for (const [who, dept] of [
      ['easter', 'east'],
      ['seller', 'sales'],
      ['coder', 'rnd'],
      ['nobody', null],
    ] as const) {
      const user = await createUser(t);
      usernames[who] = user.username;
      if (dept)
        await t.http
          .patch(`${API}/dept/${dept}/user/`)
          .set(admin)
          .send({ subject: 'add', user_uids: [user.username] })
          .expect(200);
      viewers[who] = { Authorization: `Token ${await login(t.http, user)}` };
    }
  });
  afterAll(() => t.close());

  const setSales = (body: object) => t.http.patch(`${API}/dept/sales/`).set(admin).send(body).expect(200);
  const canOpen = async (who: string, nodeUid: string) => {
    const res = await t.http.get(`${API}/ucenter/node/${nodeUid}/`).set(viewers[who]);
    expect([200, 404]).toContain(res.status);
    return res.status === 200;
  };
  const viewerOrder = ['easter', 'seller', 'coder', 'nobody'];

  // Which viewers may open d_sales under each scope: [east member, sales member, rnd member, in no dept].
  const table: [string, () => object, boolean[]][] = [
    ['1 everyone', () => ({ visibility: 1 }), [true, true, true, true]],
    ['2 members only', () => ({ visibility: 2 }), [false, true, false, false]],
    ['3 members and below', () => ({ visibility: 3 }), [true, true, false, false]],
    [
      '4 listed user',
      () => ({ visibility: 4, user_scope: [usernames.coder], node_scope: [] }),
      [false, false, true, false],
    ],
    [
      '4 listed node and below',
      () => ({ visibility: 4, node_scope: ['d_corp'], user_scope: [] }),
      [true, true, true, false],
    ],
    [
      '4 listed sibling node',
      () => ({ visibility: 4, node_scope: ['d_rnd'], user_scope: [] }),
      [false, false, true, false],
    ],
    ['5 nobody', () => ({ visibility: 5 }), [false, false, false, false]],
  ];

  it.each(table)('scope %s', async (_name, body, expected) => {
    await setSales(body());
    const answers: boolean[] = [];
    for (const who of viewerOrder) answers.push(await canOpen(who, 'd_sales'));
    expect(answers).toEqual(expected);
    expect(await canOpen('nobody', 'd_corp')).toBe(true);
  });

  it('clears the visibility lists unless the scope is 4', async () => {
    await setSales({ visibility: 4, user_scope: [usernames.coder] });
    expect((await t.http.get(`${API}/dept/sales/`).set(admin).expect(200)).body.user_scope).toEqual([
      usernames.coder,
    ]);
    await setSales({ visibility: 2 });
    expect((await t.http.get(`${API}/dept/sales/`).set(admin).expect(200)).body).toMatchObject({
      visibility: 2,
      user_scope: [],
      node_scope: [],
    });
  });

  it('shows a closed node leading to an open one as a reduced ancestor, and prunes the rest', async () => {
    await setSales({ visibility: 5 });
    await t.http.patch(`${API}/dept/rnd/`).set(admin).send({ visibility: 2 }).expect(200);
    const tree = (
      await t.http.get(`${API}/ucenter/node/d_corp/tree/?user_required=true`).set(viewers.easter).expect(200)
    ).body as Tree;
    const sales = kids(tree).find((k) => k.info.uid === 'sales') as Tree;
    expect(sales.info).toEqual({
      dept_id: expect.any(Number),
      node_uid: 'd_sales',
      node_subject: 'dept',
      uid: 'sales',
      name: 'sales',
    });
    expect(sales.users).toEqual([]);
    const east = kids(sales)[0];
    expect(east.info).toHaveProperty('remark');
    expect(east.users?.map((u) => u.username)).toEqual([usernames.easter]);
    expect(kids(tree).map((k) => k.info.uid)).toEqual(['sales']);
    expect(tree.headcount).toBe(1);

    await t.http.patch(`${API}/dept/corp/`).set(admin).send({ visibility: 5 }).expect(200);
    await t.http.patch(`${API}/dept/east/`).set(admin).send({ visibility: 5 }).expect(200);
    expect((await t.http.get(`${API}/ucenter/node/d_corp/tree/`).set(viewers.nobody)).status).toBe(404);
    const adminTree = (await t.http.get(`${API}/ucenter/node/d_corp/tree/`).set(admin).expect(200))
      .body as Tree;
    expect(kids(adminTree)).toHaveLength(2);
    for (const uid of ['corp', 'east', 'rnd'])
      await t.http.patch(`${API}/dept/${uid}/`).set(admin).send({ visibility: 1 }).expect(200);
    await setSales({ visibility: 1 });
  });

  it('shows a colleague only when one of its departments is open to the viewer', async () => {
    await t.http.patch(`${API}/dept/rnd/`).set(admin).send({ visibility: 2 }).expect(200);
    expect((await t.http.get(`${API}/ucenter/user/${usernames.coder}/`).set(viewers.seller)).status).toBe(
      404,
    );
    expect((await t.http.get(`${API}/ucenter/user/${usernames.coder}/`).set(viewers.coder)).status).toBe(200);
    expect((await t.http.get(`${API}/ucenter/user/${usernames.seller}/`).set(viewers.coder)).status).toBe(
      200,
    );
    // A user in no department is visible only to itself (and admins).
    expect((await t.http.get(`${API}/ucenter/user/${usernames.nobody}/`).set(viewers.coder)).status).toBe(
      404,
    );
    expect((await t.http.get(`${API}/ucenter/user/${usernames.nobody}/`).set(admin)).status).toBe(200);
    expect((await t.http.get(`${API}/ucenter/user/nosuchuser/`).set(viewers.coder)).status).toBe(404);
    await t.http.patch(`${API}/dept/rnd/`).set(admin).send({ visibility: 1 }).expect(200);
  });
});
