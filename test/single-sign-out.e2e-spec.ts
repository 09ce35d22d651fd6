import { decodeJwt } from 'jose';
import { TransactionRunner } from '../src/common/database/transaction-runner';
import { UsersService } from '../src/modules/accounts/users.service';
import { API, createTestApp, createUser, login, type TestApp } from './harness/test-app';
import {
  authorize,
  browser,
  codeFrom,
  csrfOf,
  logoutReceiver,
  pkce,
  REDIRECT,
  registerApp,
  type TestClient,
  tokenRequest,
} from './harness/oauth';

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

/**
 * "Disabling a user or resetting its password ends all its sessions and tokens at once": its hosted-page
 * session, API tokens, OAuth grants and refresh tokens end, and every app of its provider sessions that
 * registered a back-channel logout URI receives a logout token, as on a sign-out.
 */
describe.each([
  ['database', false],
  ['redis', true],
] as const)('single sign-out when credentials are revoked (provider state in the %s)', (_state, useRedis) => {
  let t: TestApp;
  let rp: Awaited<ReturnType<typeof logoutReceiver>>;
  beforeAll(async () => {
    const redisUrl = process.env.ARBOR_TEST_REDIS_URL;
    if (useRedis && !redisUrl)
      throw new Error('ARBOR_TEST_REDIS_URL is not set: run through jest.e2e.config.js');
    rp = await logoutReceiver();
    t = await createTestApp(useRedis ? { REDIS_URL: `${redisUrl}/6` } : {});
  });
  afterAll(async () => {
    await new Promise((resolve) => rp.server.close(resolve));
    await t.close();
  });

  const admin = async () => ({ Authorization: `Token ${await t.adminToken()}` });

  /** A user signed in to Arbor (API token), to the hosted pages and to an app (tokens of one session). */
  async function signedInEverywhere(path: string) {
    const client = await appTelling(path);
    const user = await createUser(t);
    const apiToken = await login(t.http, { username: user.username, password: user.password });
    const { agent, tokens } = await signedInToApp(client, user);
    expect((await agent.get('/workbench/')).status).toBe(200);
    await t.http.get(`${API}/auth/token/`).set('Authorization', `Token ${apiToken}`).expect(200);
    return { client, user, apiToken, agent, tokens };
  }

  const appTelling = (path: string) =>
    registerApp(
      t,
      { backchannel_logout_uri: `${rp.url}${path}`, backchannel_logout_session_required: true },
      {},
      'oidc_app',
    );

  /** A new browser signs in to the app through the login form: its tokens, refresh token included. */
  async function signedInToApp(
    client: TestClient,
    user: { username: string; password: string },
    userAgent = 'Browser-A',
  ) {
    const agent = browser(t).set('User-Agent', userAgent);
    const { verifier, challenge } = pkce();
    const { location } = await authorize(
      agent,
      {
        client_id: client.clientId,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid profile',
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      user,
    );
    const res = await exchange(client, {
      grant_type: 'authorization_code',
      code: codeFrom(location),
      code_verifier: verifier,
    });
    expect(res.status).toBe(200);
    const tokens = res.body as Tokens;
    expect(tokens.refresh_token).toEqual(expect.any(String));
    return { agent, tokens };
  }

  const pkceChallenge = () => ({
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
  });

  const exchange = (client: TestClient, fields: Record<string, string>) =>
    tokenRequest(t, client).send({ redirect_uri: REDIRECT, ...fields });

  async function logoutTokensAt(path: string): Promise<string[]> {
    for (let i = 0; i < 50 && !rp.tokens.get(path); i++) await new Promise((r) => setTimeout(r, 100));
    return rp.tokens.get(path) ?? [];
  }

  it.each([
    ['an admin disables the user', 'disable'],
    ['an admin resets the password', 'admin-reset'],
    ['the user changes its own password', 'self-change'],
    ['a sync turns the account off (DingTalk leavers)', 'sync-disable'],
  ])('ends everything when %s', async (_label, change) => {
    const path = `/${change}/logout`;
    const { client, user, apiToken, agent, tokens } = await signedInEverywhere(path);
    if (change === 'disable') {
      await t.http
        .patch(`${API}/user/${user.username}/`)
        .set(await admin())
        .send({ is_active: false })
        .expect(200);
    } else if (change === 'admin-reset') {
      await t.http
        .patch(`${API}/user/${user.username}/password/`)
        .set(await admin())
        .send({ password: 'Brand-new-pass-9', require_reset_password: false })
        .expect(200);
    } else if (change === 'sync-disable') {
      // The DingTalk pull (and the CSV import) write through this accounts-service call.
      const users = t.app.get(UsersService);
      const found = await users.findLoginCandidate('username', user.username);
      await t.app
        .get(TransactionRunner)
        .run((manager) => users.updateImported(manager, found!.id, { isActive: false }));
    } else {
      await t.http
        .patch(`${API}/ucenter/password/`)
        .send({ username: user.username, old_password: user.password, new_password: 'Brand-new-pass-9' })
        .expect(200);
    }

    // The app is told at once, with a logout token for this user and session.
    const received = await logoutTokensAt(path);
    expect(received).toHaveLength(1);
    const logout = decodeJwt(received[0]);
    const id = decodeJwt(tokens.id_token as string);
    expect(logout).toMatchObject({
      iss: 'http://arbor.test/oauth',
      aud: client.clientId,
      sub: id.sub,
      sid: id.sid,
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    });
    expect(logout).not.toHaveProperty('nonce');

    // The refresh token, the API token and the hosted-page session are all refused.
    const refresh = await exchange(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    expect(refresh.status).toBe(400);
    expect(refresh.body.error).toBe('invalid_grant');
    await t.http.get(`${API}/auth/token/`).set('Authorization', `Token ${apiToken}`).expect(401);
    const page = await agent.get('/workbench/');
    expect(page.status).toBe(303);
    expect(page.headers.location).toContain('/login/');
  });

  it('signing out another device ends what that browser signed in to, and only that', async () => {
    const path = '/device/logout';
    const client = await appTelling(path);
    const user = await createUser(t);
    const here = await signedInToApp(client, user, 'Browser-A');
    const there = await signedInToApp(client, user, 'Browser-B');
    const profile = (await here.agent.get('/profile/').expect(200)).text;
    const thereId = /<li id="session-(\d+)">\s*<span>Browser-B/.exec(profile)?.[1];
    expect(thereId).toEqual(expect.any(String));
    await here.agent
      .post(`/profile/sessions/${thereId}/revoke/`)
      .type('form')
      .send({ csrf: csrfOf(profile) })
      .expect(303);

    // The app hears of that browser's session only.
    await logoutTokensAt(path);
    await new Promise((r) => setTimeout(r, 300));
    const received = rp.tokens.get(path) ?? [];
    expect(received).toHaveLength(1);
    expect(decodeJwt(received[0]).sid).toBe(decodeJwt(there.tokens.id_token as string).sid);
    const refreshed = (tokens: Tokens) =>
      exchange(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string });
    const refused = await refreshed(there.tokens);
    expect([refused.status, refused.body.error]).toEqual([400, 'invalid_grant']);
    expect((await refreshed(here.tokens)).status).toBe(200);

    // That browser signs in again before the app gets a code; this one goes on without a prompt.
    const silent = (agent: typeof here.agent) =>
      authorize(
        agent,
        {
          client_id: client.clientId,
          response_type: 'code',
          redirect_uri: REDIRECT,
          scope: 'openid profile',
          prompt: 'none',
          ...pkceChallenge(),
        },
        null,
      );
    expect(new URL((await silent(there.agent)).location as string).searchParams.get('error')).toBe(
      'login_required',
    );
    expect(codeFrom((await silent(here.agent)).location)).toEqual(expect.any(String));
  });

  it('tells no app when the user had no provider session, and still revokes its API tokens', async () => {
    const user = await createUser(t);
    const apiToken = await login(t.http, { username: user.username, password: user.password });
    const before = [...rp.tokens.values()].flat().length;
    await t.http
      .patch(`${API}/user/${user.username}/`)
      .set(await admin())
      .send({ is_active: false })
      .expect(200);
    await t.http.get(`${API}/auth/token/`).set('Authorization', `Token ${apiToken}`).expect(401);
    await new Promise((r) => setTimeout(r, 300));
    expect([...rp.tokens.values()].flat()).toHaveLength(before);
  });
});
