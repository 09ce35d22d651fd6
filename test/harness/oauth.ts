import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { API, type TestApp } from './test-app';

export const REDIRECT = 'https://rp.example/cb';

export interface TestClient {
  appUid: string;
  clientId: string;
  clientSecret: string;
}

let seq = 0;

/** An app with an OAuth (or OIDC) client, registered through the admin API as an admin would. */
export async function registerApp(
  t: TestApp,
  part: Record<string, unknown> = {},
  fields: Record<string, unknown> = {},
  protocol: 'oauth_app' | 'oidc_app' = 'oauth_app',
): Promise<TestClient> {
  seq += 1;
  const uid = `rp${seq}x${process.pid % 1000}`;
  const res = await t.http
    .post(`${API}/app/`)
    .set('Authorization', `Token ${await t.adminToken()}`)
    .send({
      uid,
      name: `RP ${uid}`,
      allow_any_user: true,
      [protocol]: { redirect_uris: REDIRECT, ...part },
      ...fields,
    });
  if (res.status !== 201) throw new Error(`app create failed: ${res.status} ${JSON.stringify(res.body)}`);
  const client = (res.body as Record<string, { client_id: string; client_secret: string }>)[protocol];
  return { appUid: uid, clientId: client.client_id, clientSecret: client.client_secret };
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function basic(client: TestClient): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;
}

/** A request to the token endpoint as the client (client_secret_basic), for `.send(fields)`. */
export function tokenRequest(t: TestApp, client: TestClient) {
  return t.http.post('/oauth/token/').set('Authorization', basic(client)).type('form');
}

/** The value of the hidden CSRF field of a hosted page. */
export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no CSRF field in page: ${html.slice(0, 300)}`);
  return match[1];
}

/** A browser: a cookie jar over the app's HTTP server. */
export function browser(t: TestApp): TestAgent {
  return request.agent(t.app.getHttpServer());
}

/** Signs a browser in through the standalone login page, as a person would. */
export async function signInThroughPage(
  agent: TestAgent,
  user: { username: string; password: string },
): Promise<void> {
  const form = await agent.get('/login/').expect(200);
  await agent
    .post('/login/')
    .type('form')
    .send({ csrf: csrfOf(form.text), username: user.username, password: user.password })
    .expect(303);
}

function localPath(location: string): string {
  const url = new URL(location, 'http://arbor.test');
  return url.pathname + url.search;
}

/**
 * Follows the authorization flow as a browser would: the login form when asked (with these
 * credentials), consent when asked, until the provider leaves Arbor. Returns the final Location
 * (the client's redirect URI with code or error) and the last page seen.
 */
export async function authorize(
  agent: TestAgent,
  query: Record<string, string>,
  user: { username: string; password: string } | null,
  options: { consent?: boolean } = {},
): Promise<{ location: string | null; page: { status: number; text: string } | null }> {
  let res = await agent.get(`/oauth/authorize/?${new URLSearchParams(query).toString()}`);
  for (let hops = 0; hops < 12; hops++) {
    if (res.status === 302 || res.status === 303) {
      const location = res.headers.location;
      // Arbor's own pages are relative or on the test server's origin; anything else is the client's.
      if (!location.startsWith('/') && !/^https?:\/\/(127\.0\.0\.1|arbor\.test)[:/]/.test(location)) {
        return { location, page: null };
      }
      res = await agent.get(localPath(location));
      continue;
    }
    const text = res.text;
    // A page of the flow, wherever it came from: a GET of the interaction, or the answer to a form
    // (a sign-in answers with the consent page when consent comes next).
    const login = /action="\/interaction\/([^/"]+)\/login"/.exec(text);
    const consent = /action="\/interaction\/([^/"]+)\/confirm"/.exec(text);
    if (res.status !== 200) return { location: null, page: { status: res.status, text } };
    if (login && text.includes('name="password"')) {
      if (!user) return { location: null, page: { status: res.status, text } };
      res = await agent
        .post(`/interaction/${login[1]}/login`)
        .type('form')
        .send({ csrf: csrfOf(text), username: user.username, password: user.password });
    } else if (consent && text.includes('id="allow"')) {
      if (options.consent === false) return { location: null, page: { status: res.status, text } };
      res = await agent
        .post(`/interaction/${consent[1]}/confirm`)
        .type('form')
        .send({ csrf: csrfOf(text) });
    } else {
      return { location: null, page: { status: res.status, text } };
    }
  }
  throw new Error('authorization did not finish');
}

export function codeFrom(location: string | null): string {
  if (!location) throw new Error('no redirect');
  const code = new URL(location).searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  return code;
}

/** A relying party's back-channel logout endpoint on loopback: records each logout token it receives. */
export async function logoutReceiver(): Promise<{
  server: Server;
  url: string;
  tokens: Map<string, string[]>;
}> {
  const tokens = new Map<string, string[]>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      const token = new URLSearchParams(body).get('logout_token');
      if (
        req.method === 'POST' &&
        req.headers['content-type'] === 'application/x-www-form-urlencoded' &&
        token
      ) {
        tokens.set(path, [...(tokens.get(path) ?? []), token]);
      }
      res.writeHead(200, { 'Cache-Control': 'no-store' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tokens };
}
