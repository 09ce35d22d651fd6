import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
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

const HEAD_END = Buffer.from('\r\n\r\n');
const LINE_END = Buffer.from('\r\n');

/**
 * One keep-alive HTTP/1.1 connection, one request at a time, the answer parsed as its bytes arrive
 * (Content-Length or chunked). The client shares the two cores with the server it loads, and the login
 * baseline has no client at all, so its CPU is taken from Arbor's side: with Node's http client (its
 * streams and events) this process spent 4.6 ms of CPU per login, with this parser 3.0 ms, most of that
 * now the kernel's loopback TCP.
 */
class Connection {
  private readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (res: HttpResponse) => void; reject: (error: Error) => void } | null = null;
  private head: { status: number; headers: HttpResponse['headers']; length: number | 'chunked' } | null =
    null;
  private chunks: Buffer[] = [];
  /** Whether an answer came back on it: a reused connection the server closed meanwhile is retried. */
  answered = false;
  closed = false;

  constructor(host: string, port: number, onClosed: (connection: Connection) => void) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => {
      this.closed = true;
      this.fail(new Error('the server closed the connection'));
      onClosed(this);
    });
  }

  request(text: string): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(text);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private fail(error: Error): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(error);
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      const res = this.parse();
      if (!res) return;
      this.answered = true;
      const waiting = this.waiting;
      this.waiting = null;
      if (res.headers.connection === 'close') {
        this.closed = true;
        this.socket.end();
      }
      waiting?.resolve(res);
    } catch (error) {
      this.fail(error as Error);
      this.socket.destroy();
    }
  }

  /** The whole response once it is in, else null (waiting for more bytes). */
  private parse(): HttpResponse | null {
    if (!this.head) {
      const end = this.buffer.indexOf(HEAD_END);
      if (end < 0) return null;
      const lines = this.buffer.toString('latin1', 0, end).split('\r\n');
      const status = Number(lines[0].slice(9, 12));
      const headers: HttpResponse['headers'] = {};
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i].indexOf(':');
        const name = lines[i].slice(0, colon).toLowerCase();
        const value = lines[i].slice(colon + 1).trim();
        if (name === 'set-cookie') ((headers[name] as string[] | undefined) ??= []).push(value);
        else headers[name] = value;
      }
      const chunked = String(headers['transfer-encoding'] ?? '').toLowerCase() === 'chunked';
      const length = chunked ? 'chunked' : Number(headers['content-length'] ?? 0);
      if (length !== 'chunked' && !Number.isInteger(length)) throw new Error('bad Content-Length');
      this.head = { status, headers, length };
      this.buffer = this.buffer.subarray(end + HEAD_END.length);
    }
    const { status, headers, length } = this.head;
    let body: string;
    if (length === 'chunked') {
      for (;;) {
        const eol = this.buffer.indexOf(LINE_END);
        if (eol < 0) return null;
        const size = parseInt(this.buffer.toString('latin1', 0, eol), 16);
        if (Number.isNaN(size)) throw new Error('bad chunk size');
        // The last chunk is followed by an empty trailer line.
        const need = eol + 2 + size + 2;
        if (this.buffer.length < need) return null;
        if (size === 0) {
          this.buffer = this.buffer.subarray(need);
          break;
        }
        this.chunks.push(this.buffer.subarray(eol + 2, eol + 2 + size));
        this.buffer = this.buffer.subarray(need);
      }
      body = Buffer.concat(this.chunks).toString();
      this.chunks = [];
    } else {
      if (this.buffer.length < length) return null;
      body = this.buffer.toString('utf8', 0, length);
      this.buffer = this.buffer.subarray(length);
    }
    this.head = null;
    return { status, headers, body };
  }
}

/** Keep-alive connections per origin: an idle one is reused, else another is opened. */
export class HttpClient {
  private readonly idle = new Map<string, Connection[]>();
  private readonly open = new Set<Connection>();

  async send(
    method: 'GET' | 'POST',
    url: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<HttpResponse> {
    const target = new URL(url);
    let text = `${method} ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\n`;
    for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
    if (body !== undefined) text += `content-length: ${Buffer.byteLength(body)}\r\n`;
    text += `\r\n${body ?? ''}`;
    for (let attempt = 0; ; attempt++) {
      const connection = this.take(target.host, target.hostname, Number(target.port || 80));
      try {
        const res = await connection.request(text);
        if (!connection.closed) this.pool(target.host).push(connection);
        return res;
      } catch (error) {
        connection.destroy();
        // A kept-alive connection the server had closed: once more on a fresh one.
        if (!connection.answered || attempt > 0) throw error;
      }
    }
  }

  destroy(): void {
    for (const connection of this.open) connection.destroy();
    this.idle.clear();
  }

  private take(origin: string, host: string, port: number): Connection {
    const pool = this.pool(origin);
    for (let connection = pool.pop(); connection; connection = pool.pop()) {
      if (!connection.closed) return connection;
    }
    const connection = new Connection(host, port, (closed) => {
      this.open.delete(closed);
      const list = this.idle.get(origin);
      const at = list?.indexOf(closed) ?? -1;
      if (list && at >= 0) list.splice(at, 1);
    });
    this.open.add(connection);
    return connection;
  }

  private pool(origin: string): Connection[] {
    let pool = this.idle.get(origin);
    if (!pool) this.idle.set(origin, (pool = []));
    return pool;
  }
}

export function send(
  client: HttpClient,
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<HttpResponse> {
  return client.send(method, url, headers, body);
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
  agent: HttpClient,
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
  agent: HttpClient,
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
    // A page of the flow, from a GET of the interaction or as the answer to a form (a sign-in answers
    // with the consent page when consent comes next).
    const login = /action="\/interaction\/([^/"]+)\/login"/.exec(res.body);
    const consent = /action="\/interaction\/([^/"]+)\/confirm"/.exec(res.body);
    if (res.status !== 200) {
      throw new Error(`authorization flow stopped at ${url}: ${res.status} ${res.body.slice(0, 300)}`);
    }
    const csrf = csrfOf(res.body);
    if (login && res.body.includes('name="password"')) {
      url = `${base}/interaction/${login[1]}/login`;
      res = await go('POST', url, form({ csrf, username: user.username, password: user.password }));
    } else if (consent && res.body.includes('id="allow"')) {
      url = `${base}/interaction/${consent[1]}/confirm`;
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
