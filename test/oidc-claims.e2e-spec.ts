import { API, createTestApp, createUser, type TestApp } from './harness/test-app';
import {
  authorize,
  browser,
  codeFrom,
  pkce,
  REDIRECT,
  registerApp,
  type TestClient,
  tokenRequest,
} from './harness/oauth';

type Headers = { Authorization: string };

/** The smallest body the file service takes as a PNG: the signature, then anything. */
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(64, 1),
]);

/** Uploads an image through `service/file/`, as an admin would for an avatar or the company icon. */
async function uploadImage(t: TestApp, admin: Headers): Promise<string> {
  const res = await t.http
    .post(`${API}/service/file/`)
    .set(admin)
    .attach('file', PNG, 'logo.png')
    .expect(200);
  return (res.body as { file_name: string }).file_name;
}

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
}

const payloadOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;

/**
 * Arbor's own claims over the whole flow: the hosted sign-in and consent, the code exchange, then both
 * userinfo endpoints (the OIDC one and ArkID's). `groups` is the user's direct departments and groups as
 * node uids; `perms` the user's permissions of the asking app, without its `app_<uid>_` prefix. Both are
 * computed when asked, so a change shows on the next call with the same token.
 */
describe('OIDC claims: groups and perms', () => {
  let t: TestApp;
  let admin: Headers;
  let seq = 0;
  const fresh = (prefix: string) => `${prefix}${++seq}x${process.pid % 1000}`;

  beforeAll(async () => {
    t = await createTestApp();
    admin = { Authorization: `Token ${await t.adminToken()}` };
  });
  afterAll(() => t.close());

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
  const createPerm = async (appUid: string, name: string) =>
    (await t.http.post(`${API}/perm/`).set(admin).send({ scope: appUid, name }).expect(201)).body as {
      uid: string;
    };
  const setStatus = (perm: string, username: string, status: -1 | 0 | 1) =>
    t.http
      .patch(`${API}/perm/${perm}/owner/`)
      .set(admin)
      .send({ user_perm_status: [{ uid: username, status }], node_perm_status: [] })
      .expect(200);

  /** Sign-in, consent and code exchange through the hosted pages, as a browser and the app would. */
  const signIn = async (
    client: TestClient,
    user: { username: string; password: string },
    scope: string,
  ): Promise<Tokens> => {
    const { verifier, challenge } = pkce();
    const { location } = await authorize(
      browser(t),
      {
        client_id: client.clientId,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope,
        state: 'claims',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      user,
    );
    const res = await tokenRequest(t, client).send({
      grant_type: 'authorization_code',
      redirect_uri: REDIRECT,
      code: codeFrom(location),
      code_verifier: verifier,
    });
    expect(res.status).toBe(200);
    return res.body as Tokens;
  };
  const oidcUserinfo = async (token: string) =>
    (await t.http.get('/oauth/oidc/userinfo/').set('Authorization', `Bearer ${token}`).expect(200))
      .body as Record<string, unknown>;
  const arkidUserinfo = async (token: string) =>
    (await t.http.get('/oauth/userinfo/').set('Authorization', `Bearer ${token}`).expect(200)).body as Record<
      string,
      unknown
    >;

  describe('groups', () => {
    it("carries exactly the user's own department and group uids, not their ancestors, read live", async () => {
      const division = fresh('division');
      const team = fresh('team');
      const other = fresh('other');
      const squad = fresh('squad');
      const label = fresh('label');
      await dept('root', division);
      await dept(division, team);
      await dept('root', other);
      await group('role', squad);
      await group('label', label);
      const user = await createUser(t);
      await join('dept', team, user.username);
      await join('group', squad, user.username);
      // Someone else's nodes must not leak into this user's claim.
      const colleague = await createUser(t);
      await join('dept', other, colleague.username);
      await join('group', label, colleague.username);

      const client = await registerApp(t);
      const tokens = await signIn(client, user, 'openid groups');
      expect(tokens.scope?.split(' ').sort()).toEqual(['groups', 'openid']);
      const expected = [`d_${team}`, `g_${squad}`].sort();
      const info = await oidcUserinfo(tokens.access_token);
      expect(info).toEqual({ sub: String(user.body.user_id), groups: expected });
      expect((await arkidUserinfo(tokens.access_token)).groups).toEqual(expected);
      // With a code, claims of a scope go to userinfo; the id_token names the user only.
      const id = payloadOf(tokens.id_token as string);
      expect(id.sub).toBe(String(user.body.user_id));
      expect(id).not.toHaveProperty('groups');

      // Computed when asked: a new membership and a removed one show on the next call, same token.
      await t.http
        .patch(`${API}/user/${user.username}/node/`)
        .set(admin)
        .send({ subject: 'override', node_uids: [`d_${team}`, `g_${label}`] })
        .expect(200);
      expect((await oidcUserinfo(tokens.access_token)).groups).toEqual([`d_${team}`, `g_${label}`].sort());
    });

    it('is in the id_token when the id_token is all the app gets (implicit id_token flow)', async () => {
      const unit = fresh('unit');
      const crew = fresh('crew');
      await dept('root', unit);
      await group('role', crew);
      const user = await createUser(t);
      await join('dept', unit, user.username);
      await join('group', crew, user.username);
      const client = await registerApp(t, { authorization_grant_type: 'implicit' });
      const { location } = await authorize(
        browser(t),
        {
          client_id: client.clientId,
          response_type: 'id_token',
          redirect_uri: REDIRECT,
          scope: 'openid groups',
          nonce: 'n-0S6_WzA2Mj',
          state: 'implicit',
        },
        user,
      );
      const idToken = new URLSearchParams(new URL(location as string).hash.slice(1)).get('id_token');
      expect(idToken).toEqual(expect.any(String));
      expect(payloadOf(idToken as string)).toMatchObject({
        sub: String(user.body.user_id),
        aud: client.clientId,
        nonce: 'n-0S6_WzA2Mj',
        groups: [`d_${unit}`, `g_${crew}`].sort(),
      });
    });

    it('is absent without the groups scope, and empty for a user in no node', async () => {
      const unit = fresh('unit');
      await dept('root', unit);
      const member = await createUser(t);
      await join('dept', unit, member.username);
      const client = await registerApp(t);
      const tokens = await signIn(client, member, 'openid profile');
      const info = await oidcUserinfo(tokens.access_token);
      expect(info).toMatchObject({ sub: String(member.body.user_id), preferred_username: member.username });
      expect(info).not.toHaveProperty('groups');
      expect(await arkidUserinfo(tokens.access_token)).not.toHaveProperty('groups');

      const loner = await createUser(t);
      const lonerTokens = await signIn(client, loner, 'openid groups');
      expect((await oidcUserinfo(lonerTokens.access_token)).groups).toEqual([]);
    });
  });

  it('gives the profile picture as a URL: an uploaded avatar through the file service, a synced https one as it is', async () => {
    const client = await registerApp(t);
    const uploaded = await uploadImage(t, admin);
    const cases: Array<[string, string | undefined]> = [
      [uploaded, `http://arbor.test/siteapi/v1/service/file/${uploaded}`],
      ['https://static.dingtalk.example/avatar.jpg', 'https://static.dingtalk.example/avatar.jpg'],
      ['not-a-stored-name.png', undefined],
    ];
    for (const [avatar, picture] of cases) {
      const user = await createUser(t, { avatar });
      const tokens = await signIn(client, user, 'openid profile');
      expect((await oidcUserinfo(tokens.access_token)).picture).toBe(picture);
    }
    await t.http.get(`/siteapi/v1/service/file/${uploaded}`).expect(200);
  });

  describe('perms', () => {
    it("lists exactly the user's permissions of this app, by short name, and follows a revocation", async () => {
      const client = await registerApp(t);
      const other = await registerApp(t);
      const approve = await createPerm(client.appUid, 'Approve');
      const audit = await createPerm(client.appUid, 'Audit');
      const exportPerm = await createPerm(other.appUid, 'Export');
      expect(approve.uid).toBe(`app_${client.appUid}_approve`);
      const user = await createUser(t);
      await setStatus(approve.uid, user.username, 1);
      await setStatus(exportPerm.uid, user.username, 1);
      // Held by someone else only: not this user's.
      const colleague = await createUser(t);
      await setStatus(audit.uid, colleague.username, 1);

      const tokens = await signIn(client, user, 'openid perms');
      // allow_any_user: every user holds the app's access permission.
      expect(await oidcUserinfo(tokens.access_token)).toEqual({
        sub: String(user.body.user_id),
        perms: ['access', 'approve'],
      });
      expect((await arkidUserinfo(tokens.access_token)).perms).toEqual(['access', 'approve']);
      // The other app sees its own permission only.
      const otherTokens = await signIn(other, user, 'openid perms');
      expect((await oidcUserinfo(otherTokens.access_token)).perms).toEqual(['access', 'export']);

      // Revoked: gone on the next userinfo call with the same token, and after a refresh.
      await setStatus(approve.uid, user.username, -1);
      expect((await oidcUserinfo(tokens.access_token)).perms).toEqual(['access']);
      expect((await arkidUserinfo(tokens.access_token)).perms).toEqual(['access']);
      const refreshed = await tokenRequest(t, client).send({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token as string,
      });
      expect(refreshed.status).toBe(200);
      expect((await oidcUserinfo((refreshed.body as Tokens).access_token)).perms).toEqual(['access']);
      // Granted again: back at once.
      await setStatus(approve.uid, user.username, 1);
      expect((await oidcUserinfo((refreshed.body as Tokens).access_token)).perms).toEqual([
        'access',
        'approve',
      ]);
    });

    it('is absent without the perms scope', async () => {
      const client = await registerApp(t);
      const perm = await createPerm(client.appUid, 'Approve');
      const user = await createUser(t);
      await setStatus(perm.uid, user.username, 1);
      const tokens = await signIn(client, user, 'openid');
      expect(await oidcUserinfo(tokens.access_token)).toEqual({ sub: String(user.body.user_id) });
      expect(await arkidUserinfo(tokens.access_token)).not.toHaveProperty('perms');
    });
  });
});

/**
 * The company section of the site configuration brands the hosted pages: the sign-in page of an
 * authorization and the standalone one show its name (in the page's language) and logo, escaped.
 */
describe('hosted page branding', () => {
  let t: TestApp;
  let admin: Headers;
  beforeAll(async () => {
    t = await createTestApp();
    admin = { Authorization: `Token ${await t.adminToken()}` };
  });
  afterAll(() => t.close());

  const setCompany = (company: Record<string, string>) =>
    t.http.patch(`${API}/config/`).set(admin).send({ company_config: company }).expect(200);
  /** The sign-in page an authorization leads a new browser to. */
  const authorizeLoginPage = async (agent = browser(t)): Promise<string> => {
    const client = await registerApp(t);
    const { page } = await authorize(
      agent,
      {
        client_id: client.clientId,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      },
      null,
    );
    expect(page?.status).toBe(200);
    expect(page?.text).toContain('name="password"');
    return page?.text as string;
  };
  /** The header's brand link content, without the whitespace the page template puts inside tags. */
  const brandOf = (page: string) =>
    /<a class="brand" href="\/workbench\/"\s*>([\s\S]*?)<\/a\s*>/
      .exec(page)?.[1]
      .replace(/\s+>/g, '>')
      .replace(/>\s+</g, '><');

  it("shows Arbor's name and no logo until the company is configured", async () => {
    const page = await authorizeLoginPage();
    expect(brandOf(page)).toBe('<span>Arbor</span>');
  });

  it('shows the company name in the page language and its logo, with HTML escaped', async () => {
    await setCompany({
      name_cn: '<b>树</b> & "Co"',
      name_en: "Tree <script>alert('x')</script>",
      icon: 'https://cdn.example/logo.png?size=2&v="1"',
      color: '#00aa11',
    });
    const logo = '<img src="https://cdn.example/logo.png?size&#61;2&#38;v&#61;&#34;1&#34;" alt="" />';
    const nameCn = '&#60;b&#62;树&#60;/b&#62; &#38; &#34;Co&#34;';
    const nameEn = 'Tree &#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;';

    const zh = await authorizeLoginPage();
    expect(brandOf(zh)).toBe(`${logo}<span>${nameCn}</span>`);
    expect(zh).toContain(`<title>登录 · ${nameCn}</title>`);
    expect(zh).not.toContain('<b>树</b>');

    // The language switch, remembered in a cookie, selects the English name.
    const agent = browser(t);
    await agent.get('/lang/en/?next=/login/').expect(303);
    const en = await authorizeLoginPage(agent);
    expect(brandOf(en)).toBe(`${logo}<span>${nameEn}</span>`);
    expect(en).toContain(`<title>Sign in · ${nameEn}</title>`);
    expect(en).not.toContain('<script>');

    // The standalone sign-in page is branded the same way, and the stylesheet takes the colour.
    const standalone = await browser(t).get('/login/').set('Accept-Language', 'en').expect(200);
    expect(brandOf(standalone.text)).toBe(`${logo}<span>${nameEn}</span>`);
    const css = await t.http.get('/assets/arbor.css').expect(200);
    expect(css.text).toContain(':root{--brand:#00aa11}');
  });

  it('shows an icon uploaded through the file service, as the config API takes it', async () => {
    const icon = await uploadImage(t, admin);
    await setCompany({ name_cn: '上传', icon });
    const page = await authorizeLoginPage();
    expect(brandOf(page)).toBe(`<img src="/siteapi/v1/service/file/${icon}" alt="" /><span>上传</span>`);
    const image = await t.http.get(`/siteapi/v1/service/file/${icon}`).expect(200);
    expect(image.headers['content-type']).toBe('image/png');
  });

  it("brands the provider's own pages from the settings of the moment, on every replica", async () => {
    // An authorization the provider refuses itself renders its error page; no hosted page ran before.
    const errorPage = async () =>
      (await browser(t).get('/oauth/authorize/?client_id=nobody&response_type=code&scope=openid').expect(400))
        .text;
    await setCompany({ name_cn: '第一', icon: '' });
    expect(brandOf(await errorPage())).toBe('<span>第一</span>');
    await setCompany({ name_cn: '第二' });
    expect(brandOf(await errorPage())).toBe('<span>第二</span>');
  });

  it.each([['javascript:alert(1)'], ['//evil.example/logo.png'], ['http://cdn.example/logo.png']])(
    'shows no logo for the unsafe icon %s',
    async (icon) => {
      await setCompany({ name_cn: '安全', icon });
      const page = await authorizeLoginPage();
      expect(brandOf(page)).toBe('<span>安全</span>');
      expect(page).not.toContain(icon);
    },
  );
});
