import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * The oauth scenario's load generator: a keep-alive HTTP client, a closed loop of workers with warm-up,
 * and a browser (cookie jar) that walks the authorization-code flow through Arbor's hosted pages or
 * the bare provider's instant interactions.
 */

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpAgent(sockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

export function send(
  agent: Agent,
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = request(
      {
        agent,
        method,
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export const FORM = 'application/x-www-form-urlencoded';

export interface BenchClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export function basicAuth(client: BenchClient): string {
  const pair = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}

/** POST to the token endpoint as the client; the JSON answer, or an error naming the status. */
export async function tokenRequest(
  agent: Agent,
  base: string,
  client: BenchClient,
  fields: Record<string, string>,
): Promise<Record<string, unknown>> {
  const res = await send(
    agent,
    'POST',
    `${base}/oauth/token/`,
    { 'content-type': FORM, authorization: basicAuth(client) },
    form(fields),
  );
  if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body) as Record<string, unknown>;
}

/** Cookies as a browser keeps them for one origin; paths are ignored (every cookie goes everywhere). */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(header: string | string[] | undefined): void {
    for (const line of Array.isArray(header) ? header : header ? [header] : []) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key, v = ''] = a.trim().split('=');
        const k = key.toLowerCase();
        return (k === 'max-age' && Number(v) <= 0) || (k === 'expires' && Date.parse(v) < Date.now());
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no CSRF field in page: ${html.slice(0, 300)}`);
  return match[1];
}

/**
 * One sign-in as a new browser: authorize, the login form with the password, consent when asked, the
 * code at the redirect URI, then the token exchange with the PKCE verifier. Returns the token response.
 */
export async function authorizationCodeLogin(
  agent: Agent,
  base: string,
  client: BenchClient,
  user: { username: string; password: string },
  scope: string,
): Promise<Record<string, unknown>> {
  const jar = new CookieJar();
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    response_type: 'code',
    scope,
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const go = async (method: 'GET' | 'POST', url: string, body?: string): Promise<HttpResponse> => {
    const headers: Record<string, string> = { cookie: jar.header() };
    if (body !== undefined) headers['content-type'] = FORM;
    const res = await send(agent, method, url, headers, body);
    jar.store(res.headers['set-cookie']);
    return res;
  };
  let url = `${base}/oauth/authorize/?${query.toString()}`;
  let res = await go('GET', url);
  for (let hops = 0; hops < 16; hops++) {
    if (res.status === 302 || res.status === 303) {
      const location = new URL(String(res.headers.location), url);
      if (location.href.startsWith(client.redirectUri)) {
        const code = location.searchParams.get('code');
        if (!code) throw new Error(`no code at the redirect URI: ${location.href}`);
        return tokenRequest(agent, base, client, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: client.redirectUri,
          code_verifier: verifier,
        });
      }
      url = location.href;
      res = await go('GET', url);
      continue;
    }
    const interaction = /\/interaction\/([^/]+)\/$/.exec(new URL(url).pathname);
    if (res.status !== 200 || !interaction) {
      throw new Error(`authorization flow stopped at ${url}: ${res.status} ${res.body.slice(0, 300)}`);
    }
    const csrf = csrfOf(res.body);
    if (res.body.includes('name="password"')) {
      url = `${base}/interaction/${interaction[1]}/login`;
      res = await go('POST', url, form({ csrf, username: user.username, password: user.password }));
    } else if (res.body.includes('id="allow"')) {
      url = `${base}/interaction/${interaction[1]}/confirm`;
      res = await go('POST', url, form({ csrf }));
    } else {
      throw new Error(`unexpected interaction page at ${url}: ${res.body.slice(0, 300)}`);
    }
  }
  throw new Error('the authorization flow did not reach the redirect URI');
}

export interface LoadResult {
  perSecond: number;
  /** Latencies in ms of the iterations that succeeded during the measurement. */
  latencies: number[];
  errors: number;
  firstError: string | undefined;
  seconds: number;
}

/**
 * `concurrency` workers, each running its iteration back to back: `warmupS` seconds unrecorded, then
 * `durationS` seconds measured. A failed iteration is counted and the worker goes on.
 */
export async function closedLoop(
  concurrency: number,
  warmupS: number,
  durationS: number,
  iteration: (worker: number) => Promise<void>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const measureFrom = started + warmupS * 1000;
  const deadline = measureFrom + durationS * 1000;
  const worker = async (index: number): Promise<void> => {
    while (performance.now() < deadline) {
      const begun = performance.now();
      try {
        await iteration(index);
        if (begun >= measureFrom) latencies.push(performance.now() - begun);
      } catch (error) {
        if (begun >= measureFrom) errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  const seconds = (performance.now() - measureFrom) / 1000;
  return { perSecond: latencies.length / seconds, latencies, errors, firstError, seconds };
}
