import { decodeJwt } from 'jose';
import { TransactionRunner } from '../src/common/database/transaction-runner';
import { UsersService } from '../src/modules/accounts/users.service';
import { API, createTestApp, createUser, login, type TestApp } from './harness/test-app';
import {
  authorize,
  browser,
  codeFrom,
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
    const client = await registerApp(
      t,
      { backchannel_logout_uri: `${rp.url}${path}`, backchannel_logout_session_required: true },
      {},
      'oidc_app',
    );
    const user = await createUser(t);
    const apiToken = await login(t.http, { username: user.username, password: user.password });
    const agent = browser(t);
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
    expect((await agent.get('/workbench/')).status).toBe(200);
    await t.http.get(`${API}/auth/token/`).set('Authorization', `Token ${apiToken}`).expect(200);
    return { client, user, apiToken, agent, tokens };
  }

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
