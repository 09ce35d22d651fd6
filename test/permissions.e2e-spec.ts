import { DataSource } from 'typeorm';
import { authorize, browser, pkce } from './harness/oauth';
import { API, createTestApp, createUser, login, type TestApp } from './harness/test-app';

type Headers = { Authorization: string };

function resultsOf<T = { uid: string }>(body: unknown): T[] {
  return (body as { results: T[] }).results;
}

/**
 * Apps, permissions and the decision over HTTP. Every case changes one thing and checks the very next
 * request: decisions are never stale.
 */
describe('apps and permissions', () => {
  let t: TestApp;
  let admin: Headers;
  let seq = 0;

  beforeAll(async () => {
    t = await createTestApp();
    admin = { Authorization: `Token ${await t.adminToken()}` };
  });
  afterAll(() => t.close());

  const fresh = (prefix: string) => `${prefix}${++seq}x${process.pid % 1000}`;
  const dept = async (parent: string, uid: string) =>
    t.http.post(`${API}/dept/${parent}/dept/`).set(admin).send({ uid, name: uid }).expect(201);
  const group = async (parent: string, uid: string) =>
    t.http.post(`${API}/group/${parent}/group/`).set(admin).send({ uid, name: uid }).expect(201);
  const join = async (kind: 'dept' | 'group', uid: string, username: string) =>
    t.http
      .patch(`${API}/${kind}/${uid}/user/`)
      .set(admin)
      .send({ subject: 'add', user_uids: [username] })
      .expect(200);
  const app = async (fields: Record<string, unknown> = {}) =>
    (
      await t.http
        .post(`${API}/app/`)
        .set(admin)
        .send({ name: fresh('app'), ...fields })
        .expect(201)
    ).body as { uid: string; app_id: number };
  const assign = (perm: string, users: [string, number][], nodes: [string, number][] = []) =>
    t.http
      .patch(`${API}/perm/${perm}/owner/`)
      .set(admin)
      .send({
        user_perm_status: users.map(([uid, status]) => ({ uid, status })),
        node_perm_status: nodes.map(([uid, status]) => ({ uid, status })),
      })
      .expect(200);
  const employee = async () => {
    const user = await createUser(t);
    const token = await login(t.http, { username: user.username, password: user.password });
    return { ...user, headers: { Authorization: `Token ${token}` } };
  };
  /** The third-party check, as the app would call it with the user's token. */
  const check = async (headers: Headers, perm: string) =>
    (await t.http.get(`${API}/auth/token/?perm_uid=${perm}`).set(headers)).status;
  const detail = async (username: string, perm: string) =>
    (await t.http.get(`${API}/user/${username}/perm/${perm}/`).set(admin).expect(200)).body as {
      value: boolean;
      status: number;
      dept_perm_value: boolean;
      group_perm_value: boolean;
      source: { node_uid: string | null; uid: string; node_subject: string }[];
    };

  describe('the decision', () => {
    let perm: string;
    let sales: string;
    let east: string;
    let lead: string;
    beforeEach(async () => {
      const a = await app();
      perm = `app_${a.uid}_access`;
      sales = fresh('sales');
      east = fresh('east');
      lead = fresh('lead');
      await dept('root', sales);
      await dept(sales, east);
      await group('role', lead);
    });

    it('nothing assigned: refused, the default decides', async () => {
      const u = await employee();
      await join('dept', east, u.username);
      expect(await check(u.headers, perm)).toBe(403);
      expect((await detail(u.username, perm)).source).toEqual([
        expect.objectContaining({ node_subject: 'default' }),
      ]);
    });

    it('a white-listed ancestor grants, and is named as the source', async () => {
      const u = await employee();
      await join('dept', east, u.username);
      await assign(perm, [], [[`d_${sales}`, 1]]);
      expect(await check(u.headers, perm)).toBe(200);
      const d = await detail(u.username, perm);
      expect(d).toMatchObject({ value: true, status: 0, dept_perm_value: true, group_perm_value: false });
      expect(d.source).toEqual([expect.objectContaining({ node_uid: `d_${sales}`, node_subject: 'dept' })]);
    });

    it('a child status beats its ancestor', async () => {
      const u = await employee();
      await join('dept', east, u.username);
      await assign(
        perm,
        [],
        [
          [`d_${sales}`, 1],
          [`d_${east}`, -1],
        ],
      );
      expect(await check(u.headers, perm)).toBe(403);
      expect((await detail(u.username, perm)).source).toEqual([
        expect.objectContaining({ node_uid: `d_${east}` }),
      ]);
    });

    it('a user black list beats a group white list', async () => {
      const u = await employee();
      await join('group', lead, u.username);
      await assign(perm, [[u.username, -1]], [[`g_${lead}`, 1]]);
      expect(await check(u.headers, perm)).toBe(403);
      const d = await detail(u.username, perm);
      expect(d).toMatchObject({ value: false, status: -1, group_perm_value: true });
      expect(d.source).toEqual([expect.objectContaining({ uid: u.username, node_subject: 'user' })]);
    });

    it('white on one membership and black on another: allow wins', async () => {
      const u = await employee();
      await join('dept', east, u.username);
      await join('group', lead, u.username);
      await assign(
        perm,
        [],
        [
          [`d_${east}`, -1],
          [`g_${lead}`, 1],
        ],
      );
      expect(await check(u.headers, perm)).toBe(200);
      expect(await detail(u.username, perm)).toMatchObject({
        dept_perm_value: false,
        group_perm_value: true,
      });
    });

    it('a removed membership stops granting on the next request', async () => {
      const u = await employee();
      await join('group', lead, u.username);
      await assign(perm, [], [[`g_${lead}`, 1]]);
      expect(await check(u.headers, perm)).toBe(200);
      await t.http
        .patch(`${API}/group/${lead}/user/`)
        .set(admin)
        .send({ subject: 'delete', user_uids: [u.username] })
        .expect(200);
      expect(await check(u.headers, perm)).toBe(403);
    });

    it('a node moved under a white-listed parent grants on the next request', async () => {
      const u = await employee();
      const loose = fresh('loose');
      await dept('root', loose);
      await join('dept', loose, u.username);
      await assign(perm, [], [[`d_${sales}`, 1]]);
      expect(await check(u.headers, perm)).toBe(403);
      await t.http
        .patch(`${API}/dept/${sales}/dept/`)
        .set(admin)
        .send({ subject: 'add', dept_uids: [loose] })
        .expect(200);
      expect(await check(u.headers, perm)).toBe(200);
      expect((await detail(u.username, perm)).source[0].node_uid).toBe(`d_${sales}`);
    });

    it('allow_any_user opens the app to everyone but the black-listed user', async () => {
      const a = await app({ allow_any_user: true });
      const access = `app_${a.uid}_access`;
      const u = await employee();
      const banned = await employee();
      expect(await check(u.headers, access)).toBe(200);
      await assign(access, [[banned.username, -1]]);
      expect(await check(banned.headers, access)).toBe(403);
      await t.http.patch(`${API}/app/${a.uid}/`).set(admin).send({ allow_any_user: false }).expect(200);
      expect(await check(u.headers, access)).toBe(403);
    });

    it('a deleted app takes its permissions and their assignments with it', async () => {
      const a = await app();
      const access = `app_${a.uid}_access`;
      const custom = (
        await t.http.post(`${API}/perm/`).set(admin).send({ scope: a.uid, name: 'Approve' }).expect(201)
      ).body as { uid: string };
      const u = await employee();
      await assign(access, [[u.username, 1]]);
      await assign(custom.uid, [[u.username, 1]]);
      expect(await check(u.headers, access)).toBe(200);
      await t.http.delete(`${API}/app/${a.uid}/`).set(admin).expect(204);
      expect(await check(u.headers, access)).toBe(403);
      expect(await check(u.headers, custom.uid)).toBe(403);
      await t.http.get(`${API}/perm/${custom.uid}/`).set(admin).expect(404);
      // The same uid can be used again and starts with no assignments.
      await t.http.post(`${API}/app/`).set(admin).send({ uid: a.uid, name: 'again' }).expect(201);
      expect(await check(u.headers, access)).toBe(403);
    });

    it('a deleted node stops deciding', async () => {
      const u = await employee();
      const team = fresh('team');
      await dept(east, team);
      await join('dept', team, u.username);
      await join('dept', east, u.username);
      await assign(perm, [], [[`d_${team}`, 1]]);
      expect(await check(u.headers, perm)).toBe(200);
      await t.http.delete(`${API}/dept/${team}/?ignore_user=true`).set(admin).expect(204);
      expect(await check(u.headers, perm)).toBe(403);
    });
  });

  describe('apps', () => {
    it('creates, reads, changes and deletes an app with its OAuth client', async () => {
      const created = await t.http
        .post(`${API}/app/`)
        .set(admin)
        .send({
          name: '报销系统',
          index: 'https://expense.example/',
          oauth_app: { redirect_uris: 'https://expense.example/cb https://expense.example/cb2' },
          ldap_app: {},
        })
        .expect(201);
      const body = created.body as { oauth_app: { client_id: string; client_secret: string } };
      expect(body).toMatchObject({
        uid: 'baoxiaoxitong',
        name: '报销系统',
        allow_any_user: false,
        auth_protocols: ['OAuth 2.0', 'LDAP'],
        oauth_app: {
          redirect_uris: 'https://expense.example/cb https://expense.example/cb2',
          client_type: 'confidential',
          authorization_grant_type: 'authorization-code',
        },
      });
      expect(body.oauth_app.client_id).toMatch(/^[0-9a-f]{32}$/);
      expect(body.oauth_app.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(t.logs.join('\n')).not.toContain(body.oauth_app.client_secret);

      const read = (await t.http.get(`${API}/app/baoxiaoxitong/`).set(admin).expect(200)).body;
      expect(read.oauth_app.client_id).toBe(body.oauth_app.client_id);
      expect(read.oauth_app.client_secret).toBe('');

      const access = await t.http.get(`${API}/perm/app_baoxiaoxitong_access/`).set(admin).expect(200);
      expect(access.body).toMatchObject({ name: '访问报销系统', action: 'access', scope: 'baoxiaoxitong' });

      const changed = await t.http
        .patch(`${API}/app/baoxiaoxitong/`)
        .set(admin)
        .send({
          name: 'Expenses',
          oauth_app: null,
          ldap_app: null,
          oidc_app: { response_type: 'code id_token' },
        })
        .expect(200);
      expect(changed.body.auth_protocols).toEqual(['OpenID Connect']);
      expect(changed.body.oauth_app).toBeUndefined();
      expect(changed.body.oidc_app.response_type).toBe('code id_token');
      expect((await t.http.get(`${API}/perm/app_baoxiaoxitong_access/`).set(admin)).body.name).toBe(
        '访问Expenses',
      );

      const listed = await t.http.get(`${API}/app/?name=expen`).set(admin).expect(200);
      expect(resultsOf(listed.body).map((a) => a.uid)).toEqual(['baoxiaoxitong']);
      expect(listed.body.results[0].access_perm.uid).toBe('app_baoxiaoxitong_access');

      await t.http.delete(`${API}/app/baoxiaoxitong/`).set(admin).expect(204);
      await t.http.get(`${API}/app/baoxiaoxitong/`).set(admin).expect(404);
      await t.http.get(`${API}/perm/app_baoxiaoxitong_access/`).set(admin).expect(404);
    });

    it('registers an OAuth client, creating the app when it does not exist', async () => {
      const uid = fresh('oauthapp');
      const created = await t.http
        .post(`${API}/app/${uid}/oauth/`)
        .set(admin)
        .send({ redirect_uris: 'https://svc.example:8443/login/callback' })
        .expect(201);
      expect(created.body.client_secret).not.toBe('');
      const app = (await t.http.get(`${API}/app/${uid}/`).set(admin).expect(200)).body;
      expect(app).toMatchObject({ name: uid, index: 'https://svc.example:8443' });
      const again = await t.http
        .post(`${API}/app/${uid}/oauth/`)
        .set(admin)
        .send({ redirect_uris: 'https://svc.example/other' })
        .expect(200);
      expect(again.body).toMatchObject({ client_id: created.body.client_id, client_secret: '' });
    });

    /** The app's OAuth client as the API shows it. */
    const oauthOf = async (uid: string) =>
      (await t.http.get(`${API}/app/${uid}/`).set(admin).expect(200)).body.oauth_app as Record<
        string,
        unknown
      >;

    describe('redirect URIs', () => {
      const GOOD = 'https://ok.example/cb';

      it.each([
        ['rp.example/cb', 'not an absolute URI'],
        ['/cb', 'not an absolute URI'],
        ['https:rp.example/cb', 'not an absolute URI'],
        ['http://rp.example/cb', 'http is allowed only on localhost, 127.0.0.1 and [::1], use https'],
        [
          'http://127.0.0.1.rp.example/cb',
          'http is allowed only on localhost, 127.0.0.1 and [::1], use https',
        ],
        ['https://rp.example/cb#frag', 'has a fragment'],
        ['https://*.example/cb', 'wildcards are not allowed'],
        ['https://user@rp.example/cb', 'user information is not allowed'],
        ['https://user:pw@rp.example/cb', 'user information is not allowed'],
        ['https://rp.example\\@evil.example/cb', 'contains a space, a backslash or a control character'],
        ['javascript:alert(1)', 'the javascript scheme is not allowed, use https'],
        ['data:text/html,hi', 'the data scheme is not allowed, use https'],
        ['file:///etc/passwd', 'the file scheme is not allowed, use https'],
        ['vbscript:msgbox(1)', 'the vbscript scheme is not allowed, use https'],
        ['com.example.app:/cb', 'the com.example.app scheme is not allowed, use https'],
      ])('refuses %s on every path with 400, and writes nothing', async (uri, reason) => {
        const message = `${uri}: ${reason}`;
        const list = `${GOOD} ${uri}`;

        const created = fresh('badredir');
        const create = await t.http
          .post(`${API}/app/`)
          .set(admin)
          .send({ uid: created, name: created, oauth_app: { redirect_uris: list } });
        expect([create.status, create.body]).toEqual([400, { oauth_app: { redirect_uris: [message] } }]);
        await t.http.get(`${API}/app/${created}/`).set(admin).expect(404);

        const existing = await app({ oauth_app: { redirect_uris: GOOD } });
        const patch = await t.http
          .patch(`${API}/app/${existing.uid}/`)
          .set(admin)
          .send({ remark: 'changed', oauth_app: { redirect_uris: list, client_type: 'public' } });
        expect([patch.status, patch.body]).toEqual([400, { oauth_app: { redirect_uris: [message] } }]);

        const registered = fresh('badreg');
        const register = await t.http
          .post(`${API}/app/${registered}/oauth/`)
          .set(admin)
          .send({ redirect_uris: list });
        expect([register.status, register.body]).toEqual([400, { redirect_uris: [message] }]);
        await t.http.get(`${API}/app/${registered}/`).set(admin).expect(404);

        const reregister = await t.http
          .post(`${API}/app/${existing.uid}/oauth/`)
          .set(admin)
          .send({ redirect_uris: list, client_type: 'public' });
        expect([reregister.status, reregister.body]).toEqual([400, { redirect_uris: [message] }]);

        const kept = (await t.http.get(`${API}/app/${existing.uid}/`).set(admin).expect(200)).body;
        expect(kept).toMatchObject({
          remark: '',
          index: '',
          oauth_app: { redirect_uris: GOOD, client_type: 'confidential' },
        });
      });

      it('refuses an empty list where one is required, and an implicit client with http or localhost', async () => {
        const uid = fresh('emptyreg');
        for (const redirect_uris of ['', '   ']) {
          const res = await t.http.post(`${API}/app/${uid}/oauth/`).set(admin).send({ redirect_uris });
          expect([res.status, res.body]).toEqual([400, { redirect_uris: ['This field may not be blank.'] }]);
        }
        // The provider would refuse these clients at each authorization: tokens travel in the redirect.
        const implicit = await t.http
          .post(`${API}/app/${uid}/oauth/`)
          .set(admin)
          .send({ redirect_uris: 'http://127.0.0.1:8080/cb', authorization_grant_type: 'implicit' });
        expect([implicit.status, implicit.body]).toEqual([
          400,
          {
            redirect_uris: [
              'http://127.0.0.1:8080/cb: the implicit flow (implicit) needs https redirect URIs, not on localhost',
            ],
          },
        ]);
        await t.http.get(`${API}/app/${uid}/`).set(admin).expect(404);

        const loopback = await app({ oauth_app: { redirect_uris: 'http://localhost:8080/cb' } });
        for (const send of [
          () =>
            t.http
              .patch(`${API}/app/${loopback.uid}/`)
              .set(admin)
              .send({ remark: 'changed', oauth_app: { authorization_grant_type: 'implicit' } }),
          () =>
            t.http
              .post(`${API}/app/${loopback.uid}/oauth/`)
              .set(admin)
              .send({ redirect_uris: 'https://localhost/cb', authorization_grant_type: 'implicit' }),
        ]) {
          const res = await send();
          expect(res.status).toBe(400);
          expect(JSON.stringify(res.body)).toContain('the implicit flow (implicit) needs https');
        }
        const kept = (await t.http.get(`${API}/app/${loopback.uid}/`).set(admin).expect(200)).body;
        expect(kept).toMatchObject({
          remark: '',
          index: '',
          oauth_app: {
            redirect_uris: 'http://localhost:8080/cb',
            authorization_grant_type: 'authorization-code',
          },
        });
        const oidc = await t.http
          .post(`${API}/app/`)
          .set(admin)
          .send({
            name: fresh('oidc'),
            oidc_app: { redirect_uris: 'http://[::1]/cb', response_type: 'id_token' },
          });
        expect([oidc.status, oidc.body]).toEqual([
          400,
          {
            oidc_app: {
              redirect_uris: [
                'http://[::1]/cb: the implicit flow (id_token) needs https redirect URIs, not on localhost',
              ],
            },
          },
        ]);
      });

      it('accepts http on loopback hosts, single-spaced, and the provider redirects to it', async () => {
        const uris = 'http://localhost:8765/cb http://127.0.0.1:9000/cb http://[::1]:9000/cb';
        const created = await app({ oauth_app: { redirect_uris: `  ${uris.replaceAll(' ', ' \n ')} ` } });
        expect(await oauthOf(created.uid)).toMatchObject({ redirect_uris: uris });

        const uid = fresh('loopreg');
        const registered = await t.http
          .post(`${API}/app/${uid}/oauth/`)
          .set(admin)
          .send({ redirect_uris: uris })
          .expect(201);
        expect(registered.body.redirect_uris).toBe(uris);
        const detail = (await t.http.get(`${API}/app/${uid}/`).set(admin).expect(200)).body;
        expect(detail.index).toBe('http://localhost:8765');

        const user = await createUser(t);
        await assign(`app_${uid}_access`, [[user.username, 1]]);
        const { challenge } = pkce();
        const { location } = await authorize(
          browser(t),
          {
            client_id: registered.body.client_id as string,
            response_type: 'code',
            redirect_uri: 'http://localhost:8765/cb',
            scope: 'openid',
            state: 's',
            code_challenge: challenge,
            code_challenge_method: 'S256',
          },
          user,
        );
        expect(location).toMatch(/^http:\/\/localhost:8765\/cb\?code=/);
      });
    });

    describe('app/{uid}/oauth/ with client_type and authorization_grant_type', () => {
      it('creates the client with them: a public client must then use PKCE', async () => {
        const uid = fresh('pubreg');
        const res = await t.http
          .post(`${API}/app/${uid}/oauth/`)
          .set(admin)
          .send({ redirect_uris: 'https://pub.example/cb', client_type: 'public' })
          .expect(201);
        expect(res.body).toMatchObject({
          redirect_uris: 'https://pub.example/cb',
          client_type: 'public',
          authorization_grant_type: 'authorization-code',
        });
        const detail = (await t.http.get(`${API}/app/${uid}/`).set(admin).expect(200)).body;
        expect(detail.oauth_app).toMatchObject({ client_id: res.body.client_id, client_type: 'public' });

        const user = await createUser(t);
        await assign(`app_${uid}_access`, [[user.username, 1]]);
        const query = {
          client_id: res.body.client_id as string,
          response_type: 'code',
          redirect_uri: 'https://pub.example/cb',
          scope: 'openid',
          state: 's',
        };
        const without = await authorize(browser(t), query, user);
        expect(new URL(without.location as string).searchParams.get('error')).toBe('invalid_request');
        const { challenge } = pkce();
        const { location } = await authorize(
          browser(t),
          { ...query, code_challenge: challenge, code_challenge_method: 'S256' },
          user,
        );
        expect(new URL(location as string).searchParams.get('code')).toBeTruthy();
      });

      it('changes them on an existing client, in the same write as the URIs, audited', async () => {
        const existing = await app({ oauth_app: { redirect_uris: 'https://old.example/cb' } });
        const before = await oauthOf(existing.uid);
        const res = await t.http
          .post(`${API}/app/${existing.uid}/oauth/`)
          .set(admin)
          .send({
            redirect_uris: 'https://new.example/cb',
            client_type: 'public',
            authorization_grant_type: 'password',
          })
          .expect(200);
        expect(res.body).toMatchObject({
          client_id: before.client_id,
          client_secret: '',
          redirect_uris: 'https://new.example/cb',
          client_type: 'public',
          authorization_grant_type: 'password',
        });
        expect(await oauthOf(existing.uid)).toMatchObject({
          redirect_uris: 'https://new.example/cb',
          client_type: 'public',
          authorization_grant_type: 'password',
        });
        const log = await t.http.get(`${API}/log/?page_size=1`).set(admin).expect(200);
        expect(log.body.results[0]).toMatchObject({ subject: 'app_update' });
        expect(log.body.results[0].summary).toContain(`(${existing.uid}): index, oauth_app`);

        // Given only the URIs, the client keeps its types.
        await t.http
          .post(`${API}/app/${existing.uid}/oauth/`)
          .set(admin)
          .send({ redirect_uris: 'https://new.example/cb2' })
          .expect(200);
        expect(await oauthOf(existing.uid)).toMatchObject({
          redirect_uris: 'https://new.example/cb2',
          client_type: 'public',
          authorization_grant_type: 'password',
        });
      });

      it.each([
        [{ client_type: 'secret' }, 'client_type', '"secret" is not a valid choice (confidential, public).'],
        [{ client_type: null }, 'client_type', 'This field may not be null.'],
        [
          { authorization_grant_type: 'magic' },
          'authorization_grant_type',
          '"magic" is not a valid choice (authorization-code, implicit, password, client-credentials).',
        ],
        [
          { authorization_grant_type: 'authorization_code' },
          'authorization_grant_type',
          '"authorization_code" is not a valid choice (authorization-code, implicit, password, client-credentials).',
        ],
      ])('refuses %p with 400, and writes nothing', async (fields, field, message) => {
        const uid = fresh('badtype');
        const res = await t.http
          .post(`${API}/app/${uid}/oauth/`)
          .set(admin)
          .send({ redirect_uris: 'https://t.example/cb', ...fields });
        expect([res.status, res.body]).toEqual([400, { [field]: [message] }]);
        await t.http.get(`${API}/app/${uid}/`).set(admin).expect(404);

        const existing = await app({ oauth_app: { redirect_uris: 'https://t.example/cb' } });
        const again = await t.http
          .post(`${API}/app/${existing.uid}/oauth/`)
          .set(admin)
          .send({ redirect_uris: 'https://t.example/other', ...fields });
        expect([again.status, again.body]).toEqual([400, { [field]: [message] }]);
        expect(await oauthOf(existing.uid)).toMatchObject({
          redirect_uris: 'https://t.example/cb',
          client_type: 'confidential',
          authorization_grant_type: 'authorization-code',
        });
      });
    });

    it('lists apps with the access of one owner, and filters on it', async () => {
      const u = await employee();
      const open = await app();
      const closed = await app();
      await assign(`app_${open.uid}_access`, [[u.username, 1]]);
      const res = await t.http
        .get(`${API}/app/?user_uid=${u.username}&owner_access=true&page_size=100`)
        .set(admin)
        .expect(200);
      const uids = resultsOf(res.body).map((a) => a.uid);
      expect(uids).toContain(open.uid);
      expect(uids).not.toContain(closed.uid);
      expect(res.body.results[0].access_result).toEqual({
        node_uid: null,
        user_uid: u.username,
        value: true,
      });
      expect((await t.http.get(`${API}/app/?user_uid=nosuchuser`).set(admin)).status).toBe(400);
      expect(
        (await t.http.get(`${API}/app/?user_uid=${u.username}&owner_access=maybe`).set(admin)).status,
      ).toBe(400);
    });

    it('refuses bad apps with 400 and writes nothing', async () => {
      const before = (await t.http.get(`${API}/app/?page_size=1`).set(admin)).body.count as number;
      const cases: [Record<string, unknown>, string][] = [
        [{}, 'name'],
        [{ name: 'x', uid: 'Bad Uid' }, 'uid'],
        [{ name: 'x', oauth_app: { redirect_uris: 'not a uri' } }, 'oauth_app'],
        [{ name: 'x', oauth_app: { redirect_uris: 'https://a.example/cb#frag' } }, 'oauth_app'],
        [{ name: 'x', oauth_app: { redirect_uris: 'https://*.example/cb' } }, 'oauth_app'],
        [{ name: 'x', oauth_app: { authorization_grant_type: 'magic' } }, 'oauth_app'],
        [{ name: 'x', oauth_app: 'yes' }, 'oauth_app'],
        [{ name: 'x', allow_any_user: 'sometimes' }, 'allow_any_user'],
        [{ name: 'y'.repeat(300) }, 'name'],
      ];
      for (const [body, field] of cases) {
        const res = await t.http.post(`${API}/app/`).set(admin).send(body);
        expect([res.status, Object.keys(res.body)]).toEqual([400, [field]]);
      }
      const taken = await app();
      const dup = await t.http.post(`${API}/app/`).set(admin).send({ uid: taken.uid, name: 'dup' });
      expect(dup.status).toBe(400);
      expect(dup.body).toEqual({ uid: ['existed'] });
      expect((await t.http.get(`${API}/app/?page_size=1`).set(admin)).body.count).toBe(before + 1);
      const immutable = await t.http.patch(`${API}/app/${taken.uid}/`).set(admin).send({ uid: 'other' });
      expect(immutable.status).toBe(400);
      await t.http.get(`${API}/app/nosuchapp/`).set(admin).expect(404);
    });
  });

  describe('permissions', () => {
    it('names custom permissions by the uid convention and protects managed ones', async () => {
      const a = await app();
      const first = await t.http.post(`${API}/perm/`).set(admin).send({ scope: a.uid, name: '审批 报销' });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ uid: `app_${a.uid}_shenpibaoxiao`, subject: 'app', scope: a.uid });
      const second = await t.http.post(`${API}/perm/`).set(admin).send({ scope: a.uid, name: '审批报销' });
      expect(second.body.uid).toBe(`app_${a.uid}_shenpibaoxiao1`);
      const renamed = await t.http.patch(`${API}/perm/${second.body.uid}/`).set(admin).send({ name: 'R' });
      expect(renamed.body).toMatchObject({ name: 'R', uid: second.body.uid });
      expect(
        (await t.http.patch(`${API}/perm/app_${a.uid}_access/`).set(admin).send({ name: 'x' })).status,
      ).toBe(405);
      expect((await t.http.delete(`${API}/perm/system_log_read/`).set(admin)).status).toBe(405);
      await t.http.delete(`${API}/perm/${second.body.uid}/`).set(admin).expect(204);
      await t.http.get(`${API}/perm/${second.body.uid}/`).set(admin).expect(404);
      const noApp = await t.http.post(`${API}/perm/`).set(admin).send({ scope: 'nosuchapp', name: 'x' });
      expect([noApp.status, noApp.body]).toEqual([400, { scope: ['not found'] }]);

      const meta = await t.http.get(`${API}/meta/perm/`).set(admin).expect(200);
      expect((meta.body as { uid: string }[]).map((p) => p.uid)).toEqual([
        'system_user_create',
        'system_category_create',
        'system_app_create',
        'system_log_read',
        'system_config_write',
        'system_account_sync',
      ]);
      const listed = await t.http
        .get(`${API}/perm/?scope=${a.uid}&action_except=access`)
        .set(admin)
        .expect(200);
      expect(resultsOf(listed.body).map((p) => p.uid)).toEqual([first.body.uid]);
    });

    it('lists owners: assigned, by status, and the final holders with their sources', async () => {
      const a = await app();
      const perm = `app_${a.uid}_access`;
      const team = fresh('team');
      await dept('root', team);
      const member = await employee();
      const direct = await employee();
      const banned = await employee();
      await join('dept', team, member.username);
      await join('dept', team, banned.username);
      await assign(
        perm,
        [
          [direct.username, 1],
          [banned.username, -1],
        ],
        [[`d_${team}`, 1]],
      );
      const summary = (await t.http.get(`${API}/app/?name=${a.uid}`).set(admin)).body.results[0].access_perm;
      expect(summary.permit_owners.count).toBe(2);
      expect(summary.reject_owners.results).toEqual([
        { uid: banned.username, name: banned.username, subject: 'user' },
      ]);

      const holders = await t.http
        .get(`${API}/perm/${perm}/owner/?owner_subject=user&value=true`)
        .set(admin)
        .expect(200);
      expect(holders.body.count).toBe(2);
      const byUser = Object.fromEntries(
        resultsOf<{ uid: string; source: object[] }>(holders.body).map((r) => [r.uid, r.source]),
      );
      expect(byUser[member.username]).toEqual([expect.objectContaining({ node_uid: `d_${team}` })]);
      expect(byUser[direct.username]).toEqual([expect.objectContaining({ node_subject: 'user' })]);

      const rejected = await t.http.get(`${API}/perm/${perm}/owner/?status=-1`).set(admin).expect(200);
      expect(rejected.body.results).toEqual([
        { uid: banned.username, name: banned.username, subject: 'user' },
      ]);
      const depts = await t.http.get(`${API}/perm/${perm}/owner/?owner_subject=dept`).set(admin).expect(200);
      expect(depts.body.results).toEqual([{ uid: `d_${team}`, name: team, subject: 'dept' }]);

      await t.http.patch(`${API}/perm/${perm}/owner/`).set(admin).send({ clean: true }).expect(200);
      expect((await t.http.get(`${API}/perm/${perm}/owner/`).set(admin)).body.count).toBe(0);
      expect(await check(direct.headers, perm)).toBe(403);
    });

    it("reads and sets one owner's permissions", async () => {
      const a = await app();
      const perm = `app_${a.uid}_access`;
      const u = await employee();
      const set = await t.http
        .patch(`${API}/perm/user/${u.username}/`)
        .set(admin)
        .send({ perm_statuses: [{ uid: perm, status: 1 }] })
        .expect(200);
      expect(set.body).toEqual([expect.objectContaining({ status: 1, value: true })]);
      const rows = await t.http.get(`${API}/perm/user/${u.username}/?scope=${a.uid}`).set(admin).expect(200);
      expect(rows.body.results).toEqual([
        expect.objectContaining({ perm: expect.objectContaining({ uid: perm }), status: 1, value: true }),
      ]);
      const team = fresh('team');
      await dept('root', team);
      const nodeSet = await t.http
        .patch(`${API}/perm/dept/${team}/`)
        .set(admin)
        .send({ perm_statuses: [{ uid: perm, status: -1 }] })
        .expect(200);
      expect(nodeSet.body).toEqual([expect.objectContaining({ status: -1, value: false, locked: false })]);
      const viaNode = await t.http.get(`${API}/perm/node/d_${team}/?scope=${a.uid}`).set(admin).expect(200);
      expect(viaNode.body.results[0]).toMatchObject({ status: -1, value: false });

      const mine = await t.http.get(`${API}/ucenter/perm/`).set(u.headers).expect(200);
      expect(resultsOf<{ perm: { uid: string } }>(mine.body).map((r) => r.perm.uid)).toEqual([perm]);
      const apps = await t.http.get(`${API}/ucenter/apps/`).set(u.headers).expect(200);
      expect(resultsOf(apps.body).map((r) => r.uid)).toEqual([a.uid]);
      expect(apps.body.results[0]).not.toHaveProperty('oauth_app');
      const token = await t.http.get(`${API}/auth/token/?app_uid=${a.uid}`).set(u.headers).expect(200);
      expect(token.body.perms).toEqual(['access']);
      const signedIn = await t.http
        .post(`${API}/ucenter/login/`)
        .send({ username: u.username, password: u.password })
        .expect(200);
      expect(signedIn.body.perms).toEqual([perm]);
    });

    it('answers the third-party check: unknown permission 403, unknown app 400, admins pass', async () => {
      const u = await employee();
      const unknown = await t.http.get(`${API}/auth/token/?perm_uid=app_nosuch_access`).set(u.headers);
      expect(unknown.status).toBe(403);
      expect(unknown.body).toMatchObject({ username: u.username, perms: [] });
      expect((await t.http.get(`${API}/auth/token/?perm_uid=app_nosuch_access`).set(admin)).status).toBe(403);
      const a = await app();
      expect(await check(admin, `app_${a.uid}_access`)).toBe(200);
      const badApp = await t.http.get(`${API}/auth/token/?app_uid=nosuchapp`).set(u.headers);
      expect([badApp.status, badApp.body]).toEqual([400, { app_uid: 'not exists' }]);
      const badClient = await t.http.get(`${API}/auth/token/?oauth_client_id=nope`).set(u.headers);
      expect(badClient.status).toBe(400);
      expect((await t.http.get(`${API}/auth/token/`)).status).toBe(401);
    });

    it('refuses bad assignments with 400 or 404 and writes nothing', async () => {
      const a = await app();
      const perm = `app_${a.uid}_access`;
      const u = await employee();
      const gone = fresh('gone');
      await dept('root', gone);
      await t.http.delete(`${API}/dept/${gone}/`).set(admin).expect(204);
      const bad: [Record<string, unknown>, string][] = [
        [{ user_perm_status: [{ uid: u.username, status: 2 }] }, 'user_perm_status'],
        [{ user_perm_status: [{ uid: u.username, status: '1' }] }, 'user_perm_status'],
        [{ user_perm_status: 'all' }, 'user_perm_status'],
        [
          {
            user_perm_status: [{ uid: u.username, status: 1 }],
            node_perm_status: [{ uid: 'd_nosuch', status: 1 }],
          },
          'node_perm_status',
        ],
        [
          {
            user_perm_status: [{ uid: u.username, status: 1 }],
            node_perm_status: [{ uid: `d_${gone}`, status: 1 }],
          },
          'node_perm_status',
        ],
        [{ user_perm_status: [{ uid: 'nosuchuser', status: 1 }] }, 'user_perm_status'],
        [{ clean: true, node_perm_status: [{ uid: 'x_bad', status: 1 }] }, 'node_perm_status'],
      ];
      await assign(perm, [], [[`d_root`, 1]]);
      for (const [body, field] of bad) {
        const res = await t.http.patch(`${API}/perm/${perm}/owner/`).set(admin).send(body);
        expect([res.status, Object.keys(res.body)]).toEqual([400, [field]]);
      }
      // Nothing was written: neither the user's grant nor the clean.
      const owners = await t.http.get(`${API}/perm/${perm}/owner/`).set(admin).expect(200);
      expect(owners.body.results).toEqual([{ uid: 'd_root', name: '部门', subject: 'dept' }]);

      await t.http.patch(`${API}/perm/app_nosuch_access/owner/`).set(admin).send({}).expect(404);
      const missingPerm = await t.http
        .patch(`${API}/perm/user/${u.username}/`)
        .set(admin)
        .send({
          perm_statuses: [
            { uid: perm, status: 1 },
            { uid: 'app_nosuch_x', status: 1 },
          ],
        });
      expect(missingPerm.status).toBe(400);
      expect((await detail(u.username, perm)).status).toBe(0);
      expect((await t.http.get(`${API}/perm/${perm}/owner/?status=5`).set(admin)).status).toBe(400);
      expect((await t.http.get(`${API}/perm/${perm}/owner/?value=maybe`).set(admin)).status).toBe(400);
      await t.http.get(`${API}/perm/user/nosuchuser/`).set(admin).expect(404);
      await t.http.get(`${API}/perm/dept/nosuch/`).set(admin).expect(404);
      await t.http.get(`${API}/user/${u.username}/perm/app_nosuch_access/`).set(admin).expect(404);
      expect((await t.http.get(`${API}/perm/`).set(u.headers)).status).toBe(403);
    });
  });

  describe('recompute (PUT user/{u}/perm/)', () => {
    interface TaskResult {
      status: number;
      result: { username: string; perm_count: number; held_count: number; held: string[] } | null;
    }
    const finished = async (taskId: string): Promise<TaskResult> => {
      for (let i = 0; i < 100; i++) {
        const res = await t.http.get(`${API}/task/${taskId}/result/`).set(admin).expect(200);
        const body = res.body as TaskResult;
        if (body.status === 3 || body.status === 4) return body;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`task ${taskId} did not finish`);
    };

    it('queues a task that reloads what a hand edit of the tables changed, and reports the user’s perms', async () => {
      const a = await app();
      const perm = `app_${a.uid}_access`;
      const u = await employee();
      await assign(perm, [[u.username, 1]]);
      expect((await detail(u.username, perm)).value).toBe(true);
      // A change written past Arbor (a DBA's UPDATE) moves no stamp: the decision does not see it yet.
      const db = t.app.get(DataSource);
      const [row] = await db.query<{ id: number }[]>('SELECT id FROM users WHERE username = ?', [u.username]);
      await db.query(
        'UPDATE perm_user_statuses SET status = -1 WHERE user_id = ? AND perm_id = (SELECT id FROM perms WHERE uid = ?)',
        [row.id, perm],
      );
      expect((await detail(u.username, perm)).value).toBe(true);

      const ticket = await t.http.put(`${API}/user/${u.username}/perm/`).set(admin).expect(200);
      expect(ticket.body).toEqual({ task_id: expect.any(String), task_msg: expect.any(String) });
      const done = await finished((ticket.body as { task_id: string }).task_id);
      expect(done.status).toBe(4);
      expect(done.result).toMatchObject({ username: u.username, held: expect.any(Array) });
      expect(done.result?.held).not.toContain(perm);
      expect(done.result?.held_count).toBe(done.result?.held.length);
      expect(done.result?.perm_count).toBeGreaterThan(0);
      expect((await detail(u.username, perm)).value).toBe(false);
      expect(await check(u.headers, perm)).toBe(403);
    });

    it('is for admins, about users that exist', async () => {
      const u = await employee();
      expect((await t.http.put(`${API}/user/${u.username}/perm/`).set(u.headers)).status).toBe(403);
      await t.http.put(`${API}/user/nosuchuser${seq}/perm/`).set(admin).expect(404);
      await t.http
        .put(`${API}/user/${encodeURIComponent('bad name!')}/perm/`)
        .set(admin)
        .expect(404);
    });
  });
});
