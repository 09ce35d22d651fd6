import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import {
  API,
  BenchServer,
  buildServer,
  cleanupOnExit,
  envNumber,
  loginToken,
  percentile,
  postJson,
  ROOT,
  round1,
  startBenchRedis,
  verdict,
  ticksOf,
} from './harness';
import {
  authorizationCodeLogin,
  basicAuth,
  type BenchClient,
  closedLoop,
  FORM,
  form,
  HttpClient,
  type LoadResult,
  send,
  tokenRequest,
} from './oauth-client';

/**
 * Scenario `oauth`: Arbor's OAuth 2.0 / OIDC provider (the built server, on its SQLite file, and again
 * with REDIS_URL so the provider's state is in Redis) beside a bare oidc-provider of the same version
 * (bench/oauth-bare.ts: in-memory adapter, the same client metadata, plain node http, no Nest), the two
 * taking turns in alternating rounds (A B, B A) with the same closed loop:
 * - client_credentials grant, tokens/s: target 1,000/s and at least 0.7 of the bare provider;
 * - token introspection, req/s: target 3,000/s (each worker introspects its own client_credentials token
 *   again and again, as a resource server does for the calls one token makes; on Redis, Arbor answers a
 *   token it has seen from the lookups it keeps under Redis's client-side caching);
 * - refresh_token grant with rotation (each worker follows its own chain), req/s: target 400/s;
 * - the whole authorization-code login through the hosted pages (authorize, login form with the
 *   password, consent, code, token exchange with PKCE) beside a bare argon2id verify loop with the same
 *   parameters and concurrency (bench/argon2-loop.ts): ratio target 0.6. `login` signs in to an app
 *   that asks for consent (six requests: the sign-in answers with the consent page);
 *   `login_first_party` to a first-party app (`skip_authorization`: no consent page, five requests), as
 *   company apps are usually registered.
 * Besides req/s and latencies, each side's server CPU per request (all threads, from /proc): other
 * engineers' tests share the two cores, and CPU per request moves far less with them than req/s does.
 * BENCH_CONCURRENCY (32, token endpoints), BENCH_LOGIN_CONCURRENCY (16, both login sides), BENCH_DURATION
 * (s measured per side, 10), BENCH_ROUNDS (2, the measured time split between them), BENCH_WARMUP (s, 3,
 * before a side's first round; 1 before its later ones), BENCH_STORES ("sqlite,redis"), BENCH_CASES
 * (comma-separated subset of "client_credentials,introspection,refresh,login,login_first_party").
 */

const BENCH_USER = { username: 'oauthbench', name: 'OAuth Bench', password: 'Bench-pass-2026' };
const REDIRECT_URI = 'https://rp.bench.example/cb';
const SCOPE = 'openid profile';
const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'phone', 'groups', 'perms', 'arbor.read'];
const BARE_ENTRY = join(ROOT, 'bench', 'oauth-bare.ts');
const ARGON2_LOOP = join(ROOT, 'bench', 'argon2-loop.ts');
const CLOCK_TICKS = 100;
const DISTURBED_CORES = 0.25;

const CASES = ['client_credentials', 'introspection', 'refresh', 'login', 'login_first_party'] as const;
type Case = (typeof CASES)[number];
/** The login cases, measured beside the bare argon2id verify loop rather than the bare provider. */
const isLogin = (kase: Case): boolean => kase === 'login' || kase === 'login_first_party';
const STORES = ['sqlite', 'redis'] as const;
type Store = (typeof STORES)[number];

const TARGETS: Record<Case, { perSecond?: number; ratio?: number }> = {
  client_credentials: { perSecond: 1000, ratio: 0.7 },
  introspection: { perSecond: 3000 },
  refresh: { perSecond: 400 },
  login: { ratio: 0.6 },
  login_first_party: { ratio: 0.6 },
};
const UNITS: Record<Case, string> = {
  client_credentials: 'tokens/s',
  introspection: 'introspections/s',
  refresh: 'refreshes/s',
  login: 'logins/s',
  login_first_party: 'logins/s',
};

interface Settings {
  concurrency: number;
  loginConcurrency: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  stores: Store[];
  cases: Case[];
}

interface Side {
  per_s: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  errors: number;
  /** Cores every other process on the machine used meanwhile (other engineers' tests). */
  other_cores: number;
  /** CPU the measured server (all its threads) spent per request, ms: far steadier than req/s on a busy machine. */
  server_cpu_ms: number;
}

interface CaseSummary {
  store: Store;
  case: Case;
  concurrency: number;
  arbor: Side;
  /** The bare provider, or for `login` the bare argon2id verify loop. */
  baseline: Side;
  ratio: number;
  first_error?: string;
}

export async function run(): Promise<void> {
  const settings = readSettings();
  buildServer();
  const summaries: CaseSummary[] = [];
  for (const store of settings.stores) summaries.push(...(await measureStore(settings, store)));
  console.log(
    `\noauth: ${settings.concurrency} concurrent on the token endpoints, ${settings.loginConcurrency} for ` +
      `logins; ${settings.warmupS} s warm-up, ${settings.durationS} s measured per side in ` +
      `${settings.rounds} alternating rounds`,
  );
  for (const s of summaries) printSummary(s);
  console.log(`RESULT ${JSON.stringify(summaries)}`);
}

function readSettings(): Settings {
  const list = <T extends string>(name: string, all: readonly T[]): T[] => {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return [...all];
    const parts = raw.split(',').map((p) => p.trim());
    const unknown = parts.filter((p) => !(all as readonly string[]).includes(p));
    if (unknown.length > 0)
      throw new Error(`${name}: unknown ${unknown.join(', ')}; one of ${all.join(', ')}`);
    return parts as T[];
  };
  return {
    concurrency: envNumber('BENCH_CONCURRENCY', 32, true),
    loginConcurrency: envNumber('BENCH_LOGIN_CONCURRENCY', 16, true),
    durationS: envNumber('BENCH_DURATION', 10, false),
    warmupS: envNumber('BENCH_WARMUP', 3, false),
    rounds: envNumber('BENCH_ROUNDS', 2, true),
    stores: list('BENCH_STORES', STORES),
    cases: list('BENCH_CASES', CASES),
  };
}

async function measureStore(settings: Settings, store: Store): Promise<CaseSummary[]> {
  const redis = store === 'redis' ? await startBenchRedis() : undefined;
  const server = new BenchServer(
    { LOGIN_IP_LIMIT: '100000000', LOGIN_LOCKOUT_THRESHOLD: '100' },
    { redisUrl: redis?.url },
  );
  let bare: BareProvider | undefined;
  const agent = new HttpClient();
  try {
    await server.start();
    const token = await loginToken(server.base, 'admin', server.adminPassword);
    await postJson(`${server.base}${API}/user/`, { user: BENCH_USER }, token);
    const arborClient = await createBenchApp(server.base, token, 'oauthbench', false);
    const firstParty = await createBenchApp(server.base, token, 'oauthbenchfp', true);
    bare = await startBare(arborClient);
    const sides = [
      { name: 'arbor', base: server.base, client: arborClient, pids: [server.pid] },
      { name: 'bare', base: bare.base, client: arborClient, pids: [bare.pid] },
    ];
    const results: CaseSummary[] = [];
    for (const kase of settings.cases) {
      const concurrency = isLogin(kase) ? settings.loginConcurrency : settings.concurrency;
      const iterations = new Map<string, (worker: number) => Promise<void>>();
      for (const side of sides) {
        if (isLogin(kase) && side.name === 'bare') continue;
        const client = kase === 'login_first_party' ? firstParty : side.client;
        iterations.set(side.name, await prepare(kase, agent, side.base, client, concurrency));
      }
      const tallies = new Map(sides.map((side) => [side.name, emptyTally()]));
      let firstError: string | undefined;
      // The sides take turns (A B, B A, …) in rounds of equal length: the machine's speed drifts between
      // minutes, and a drift then weighs on both sides alike instead of on whichever ran second.
      for (let round = 0; round < settings.rounds; round++) {
        const order = round % 2 === 0 ? sides : [...sides].reverse();
        const seconds = settings.durationS / settings.rounds;
        for (const side of order) {
          const tally = tallies.get(side.name) as Tally;
          const iteration = iterations.get(side.name);
          if (!iteration) {
            console.log(`${store}: login baseline, argon2id verify loop, round ${round + 1}…`);
            addLoop(tally, await argon2Loop(concurrency, seconds));
            continue;
          }
          console.log(`${store}: ${kase}, ${side.name}, round ${round + 1}…`);
          // The first round warms the server up; later ones only let the other side's load drain.
          const warmup = round === 0 ? settings.warmupS : Math.min(1, settings.warmupS);
          const before = cpuSample(side.pids);
          const load = await closedLoop(concurrency, warmup, seconds, iteration);
          const after = cpuSample(side.pids);
          firstError ??= load.firstError;
          addLoad(tally, load, before, after);
        }
      }
      const arbor = sideOf(tallies.get('arbor') as Tally);
      const baseline = sideOf(tallies.get('bare') as Tally);
      if (!server.running) throw new Error('the Arbor server exited during the load');
      results.push({
        store,
        case: kase,
        concurrency,
        arbor,
        baseline,
        ratio: Math.round((arbor.per_s / Math.max(baseline.per_s, 1e-9)) * 100) / 100,
        ...(firstError === undefined ? {} : { first_error: firstError.slice(0, 300) }),
      });
    }
    return results;
  } finally {
    agent.destroy();
    bare?.stop();
    await server.dispose();
    redis?.stop();
  }
}

/** What one worker does per iteration, with whatever tokens it needs obtained beforehand. */
async function prepare(
  kase: Case,
  agent: HttpClient,
  base: string,
  client: BenchClient,
  concurrency: number,
): Promise<(worker: number) => Promise<void>> {
  switch (kase) {
    case 'client_credentials':
      return async () => {
        const body = await tokenRequest(agent, base, client, { grant_type: 'client_credentials' });
        if (typeof body.access_token !== 'string') throw new Error('no access_token');
      };
    case 'introspection': {
      const tokens = await Promise.all(
        Array.from({ length: concurrency }, () =>
          tokenRequest(agent, base, client, { grant_type: 'client_credentials' }),
        ),
      );
      return async (worker) => {
        const res = await send(
          agent,
          'POST',
          `${base}/oauth/introspect/`,
          { 'content-type': FORM, authorization: basicAuth(client) },
          form({ token: String(tokens[worker].access_token) }),
        );
        if (res.status !== 200 || !res.body.includes('"active":true')) {
          throw new Error(`introspection: ${res.status} ${res.body.slice(0, 200)}`);
        }
      };
    }
    case 'refresh': {
      // Logins one after the other: the refresh load, not argon2, is what is measured.
      const chains: string[] = [];
      for (let i = 0; i < concurrency; i++) {
        const tokens = await authorizationCodeLogin(agent, base, client, BENCH_USER, SCOPE);
        if (typeof tokens.refresh_token !== 'string')
          throw new Error('the code exchange gave no refresh_token');
        chains.push(tokens.refresh_token);
      }
      return async (worker) => {
        const body = await tokenRequest(agent, base, client, {
          grant_type: 'refresh_token',
          refresh_token: chains[worker],
        });
        if (typeof body.refresh_token !== 'string') throw new Error('no rotated refresh_token');
        chains[worker] = body.refresh_token;
      };
    }
    case 'login':
    case 'login_first_party':
      return async () => {
        const tokens = await authorizationCodeLogin(agent, base, client, BENCH_USER, SCOPE);
        if (typeof tokens.id_token !== 'string') throw new Error('no id_token');
      };
  }
}

/** A confidential OAuth app anyone may use, through the admin API; first-party: no consent page. */
async function createBenchApp(
  base: string,
  token: string,
  uid: string,
  firstParty: boolean,
): Promise<BenchClient> {
  const { json } = await postJson(
    `${base}${API}/app/`,
    {
      uid,
      name: firstParty ? 'OAuth Bench (first-party)' : 'OAuth Bench',
      allow_any_user: true,
      oauth_app: { redirect_uris: REDIRECT_URI, skip_authorization: firstParty },
    },
    token,
  );
  const app = json.oauth_app as { client_id?: string; client_secret?: string } | undefined;
  if (!app?.client_id || !app.client_secret) throw new Error(`app without a client: ${JSON.stringify(json)}`);
  return { clientId: app.client_id, clientSecret: app.client_secret, redirectUri: REDIRECT_URI };
}

interface BareProvider {
  base: string;
  pid: number;
  stop: () => void;
}

/**
 * The bare provider, started once the client is known (its clients are static), with the metadata Arbor
 * derives for a confidential OAuth app (oidc-clients.ts), the plain secret in place of the stored hash.
 */
async function startBare(client: BenchClient): Promise<BareProvider> {
  const metadata = {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    client_name: 'OAuth Bench',
    redirect_uris: [client.redirectUri],
    post_logout_redirect_uris: [client.redirectUri],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
    scope: SCOPES.join(' '),
  };
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', BARE_ENTRY, JSON.stringify(metadata)],
    { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 2] },
  );
  const stop = cleanupOnExit(() => child.kill('SIGKILL'));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the bare provider exited with code ${code}`)));
      if (!child.stdout) throw new Error('the bare provider has no stdout');
      createInterface({ input: child.stdout }).once('line', resolve);
    });
    const { port } = JSON.parse(line) as { port: number };
    return { base: `http://127.0.0.1:${port}`, pid: child.pid ?? 0, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

interface BareLoop {
  perSecond: number;
  latencies: number[];
  cores: number;
  others: number;
}

function argon2Loop(concurrency: number, durationS: number): Promise<BareLoop> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', ARGON2_LOOP, String(concurrency), String(durationS)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 2] },
    );
    let output = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`argon2 verify loop exited with code ${code}`));
        return;
      }
      resolve(JSON.parse(output) as BareLoop);
    });
  });
}

/** One side's measurements summed over its rounds. */
interface Tally {
  latencies: number[];
  seconds: number;
  errors: number;
  /** Core-seconds its server (all threads) and every other process on the machine used. */
  serverCoreSeconds: number;
  otherCoreSeconds: number;
}

function emptyTally(): Tally {
  return { latencies: [], seconds: 0, errors: 0, serverCoreSeconds: 0, otherCoreSeconds: 0 };
}

function addLoad(tally: Tally, load: LoadResult, before: CpuSample, after: CpuSample): void {
  for (const latency of load.latencies) tally.latencies.push(latency);
  tally.seconds += load.seconds;
  tally.errors += load.errors;
  tally.serverCoreSeconds += serverCores(before, after) * load.seconds;
  tally.otherCoreSeconds += otherCores(before, after) * load.seconds;
}

function addLoop(tally: Tally, loop: BareLoop): void {
  const seconds = loop.latencies.length / Math.max(loop.perSecond, 1e-9);
  for (const latency of loop.latencies) tally.latencies.push(latency);
  tally.seconds += seconds;
  tally.serverCoreSeconds += loop.cores * seconds;
  tally.otherCoreSeconds += loop.others * seconds;
}

function sideOf(tally: Tally): Side {
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  const count = Math.max(sorted.length, 1e-9);
  return {
    per_s: round1(sorted.length / Math.max(tally.seconds, 1e-9)),
    p50_ms: round1(percentile(sorted, 50)),
    p95_ms: round1(percentile(sorted, 95)),
    p99_ms: round1(percentile(sorted, 99)),
    errors: tally.errors,
    other_cores: Math.round((tally.otherCoreSeconds / Math.max(tally.seconds, 1e-9)) * 100) / 100,
    server_cpu_ms: Math.round((tally.serverCoreSeconds * 100_000) / count) / 100,
  };
}

// ---- what the rest of the machine did meanwhile, from /proc ----

interface CpuSample {
  at: number;
  busy: number;
  /** This process and the measured server. */
  mine: number;
  server: number;
}

/** Machine-wide busy ticks, and those of this process and the measured server (all threads). */
function cpuSample(pids: number[]): CpuSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  let server = 0;
  for (const pid of pids) {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        server += ticksOf(`/proc/${pid}/task/${tid}/stat`);
      } catch {
        // The thread ended between listing and reading.
      }
    }
  }
  const mine = ticksOf('/proc/self/stat') + server;
  return { at: performance.now(), busy: user + nice + system + irq + softirq + steal, mine, server };
}

function serverCores(from: CpuSample, to: CpuSample): number {
  return (to.server - from.server) / CLOCK_TICKS / ((to.at - from.at) / 1000);
}

function otherCores(from: CpuSample, to: CpuSample): number {
  const seconds = (to.at - from.at) / 1000;
  return Math.max(0, (to.busy - from.busy - (to.mine - from.mine)) / CLOCK_TICKS / seconds);
}

function printSummary(s: CaseSummary): void {
  const target = TARGETS[s.case];
  const baselineName = isLogin(s.case) ? 'bare argon2id verifies/s' : 'bare oidc-provider';
  const goals: string[] = [];
  let ok = s.arbor.errors === 0;
  if (target.perSecond !== undefined) {
    goals.push(`>= ${target.perSecond}/s`);
    ok &&= s.arbor.per_s >= target.perSecond;
  }
  if (target.ratio !== undefined) {
    goals.push(`ratio >= ${target.ratio}`);
    ok &&= s.ratio >= target.ratio;
  }
  const latency = (side: Side) => `${side.p50_ms} / ${side.p95_ms} / ${side.p99_ms} ms`;
  const disturbed = (side: Side) =>
    side.other_cores > DISTURBED_CORES ? `   DISTURBED (other processes ${side.other_cores} cores)` : '';
  console.log(
    [
      '',
      `oauth ${s.case} (${s.store}), ${s.concurrency} concurrent`,
      `  Arbor ${UNITS[s.case].padEnd(19)}: ${s.arbor.per_s}${disturbed(s.arbor)}`,
      `  ${baselineName.padEnd(25)}: ${s.baseline.per_s}${disturbed(s.baseline)}`,
      `  ratio Arbor / bare        : ${s.ratio}   target ${goals.join(' and ')}   ${verdict(ok)}`,
      `  latency p50 / p95 / p99   : Arbor ${latency(s.arbor)}; bare ${latency(s.baseline)}`,
      `  server CPU per request    : Arbor ${s.arbor.server_cpu_ms} ms; bare ${s.baseline.server_cpu_ms} ms` +
        `   (CPU ratio ${Math.round((s.baseline.server_cpu_ms / Math.max(s.arbor.server_cpu_ms, 1e-9)) * 100) / 100})`,
      `  failed requests           : Arbor ${s.arbor.errors}, bare ${s.baseline.errors}   target 0` +
        (s.first_error === undefined ? '' : `   (first: ${s.first_error})`),
    ].join('\n'),
  );
}
