import { createHmac } from 'node:crypto';
import {
  API_SCOPES,
  DingTalkCredentialsError,
  DingTalkError,
  DingTalkQuotaError,
  DingTalkScopeError,
} from './dingtalk.errors';
import { type RequestLimiter, SlidingWindowLimiter } from './rate-limiter';

export interface DingTalkDept {
  dept_id: number;
  name: string;
  parent_id: number;
}

export interface DingTalkUser {
  userid: string;
  unionid?: string;
  name: string;
  mobile?: string;
  state_code?: string;
  email?: string;
  org_email?: string;
  title?: string;
  job_number?: string;
  avatar?: string;
  hired_date?: number;
  active?: boolean;
  dept_id_list: number[];
}

export interface DingTalkRoleGroup {
  groupId: number;
  name: string;
  roles: { id: number; name: string }[];
}

export interface DingTalkClientOptions {
  apiBase: string;
  newApiBase: string;
  appKey: string;
  appSecret: string;
  maxRps: number;
  /** The app's request window; shared through Redis when there is one. Default: this client's own. */
  limiter?: RequestLimiter;
  /** Attempts for throttling and busy answers before giving up. */
  maxRetries?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called once per HTTP request sent (for metrics and the benchmark). */
  onRequest?: (path: string) => void;
}

interface Envelope {
  errcode?: number;
  errmsg?: string;
  sub_code?: string;
  sub_msg?: string;
  result?: unknown;
  access_token?: string;
  expires_in?: number;
  [key: string]: unknown;
}

/**
 * A window a little over a second: DingTalk counts arrivals, and network jitter can bunch requests
 * sent a full second apart. An occasional 90018 that still gets through is waited out and retried.
 */
export const DINGTALK_WINDOW_MS = 1030;

// Per-app and per-API QPS limits, the global API limit, and "system busy": wait and retry.
const THROTTLED = new Set([90018, 90006, 90005, 90019, 90002, -1]);
const TOKEN_INVALID = new Set(['40014', '40000', '42001']);

/**
 * The DingTalk open API as the sync and login use it. Every request waits its turn in a per-app
 * sliding window (DINGTALK_MAX_RPS), the access token is cached until shortly before it expires and
 * refetched once when DingTalk calls it invalid, and throttling answers are retried with backoff.
 */
export class DingTalkClient {
  private token: { value: string; expiresAt: number } | null = null;
  private tokenFetch: Promise<string> | null = null;
  private readonly limiter: RequestLimiter;
  private readonly sleep: (ms: number) => Promise<void>;
  requests = 0;
  /** Send times within the last second, and the most there have been since `resetPeak()`. */
  private readonly recent: number[] = [];
  private peak = 0;

  constructor(private readonly options: DingTalkClientOptions) {
    this.limiter = options.limiter ?? new SlidingWindowLimiter(options.maxRps, DINGTALK_WINDOW_MS);
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** The most requests this client started within any one second since the last reset. */
  get peakPerSecond(): number {
    return this.peak;
  }

  resetPeak(): void {
    this.peak = 0;
  }

  get appKey(): string {
    return this.options.appKey;
  }

  // ---- transport ----

  private async send(
    url: string,
    init: RequestInit,
    path: string,
  ): Promise<{ status: number; body: unknown }> {
    await this.limiter.acquire();
    this.requests += 1;
    const sentAt = Date.now();
    this.recent.push(sentAt);
    while (sentAt - this.recent[0] >= 1000) this.recent.shift();
    this.peak = Math.max(this.peak, this.recent.length);
    this.options.onRequest?.(path);
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30000) });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      // An HTML block page (IP ban) or a proxy error: handled as a non-envelope answer below.
    }
    return { status: response.status, body };
  }

  /** Access token for the old API, cached until 5 minutes (or a tenth of its life) before expiry. */
  async accessToken(): Promise<string> {
    if (this.token && Date.now() < this.token.expiresAt) return this.token.value;
    this.tokenFetch ??= this.fetchToken().finally(() => {
      this.tokenFetch = null;
    });
    return this.tokenFetch;
  }

  private async fetchToken(): Promise<string> {
    const query = new URLSearchParams({ appkey: this.options.appKey, appsecret: this.options.appSecret });
    for (let attempt = 1; ; attempt++) {
      const { body } = await this.send(
        `${this.options.apiBase}/gettoken?${query.toString()}`,
        { method: 'GET' },
        'gettoken',
      );
      const envelope = (typeof body === 'object' && body !== null ? body : {}) as Envelope;
      if (envelope.errcode === 0 && typeof envelope.access_token === 'string') {
        const life = (envelope.expires_in ?? 7200) * 1000;
        this.token = {
          value: envelope.access_token,
          expiresAt: Date.now() + life - Math.min(300000, life / 10),
        };
        return envelope.access_token;
      }
      if (envelope.errcode === 40096 || envelope.errcode === 40035 || envelope.errcode === 40089) {
        throw new DingTalkCredentialsError('gettoken', envelope.errcode, envelope.errmsg ?? '');
      }
      await this.backoffOrThrow('gettoken', envelope, body, attempt);
    }
  }

  /** POST to an old-API (`oapi`) path with the app token; returns `result` (or the whole envelope). */
  async call<T>(path: string, body: Record<string, unknown>): Promise<T> {
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken();
      const { body: answer } = await this.send(
        `${this.options.apiBase}/${path}?access_token=${encodeURIComponent(token)}`,
        { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) },
        path,
      );
      const envelope = (typeof answer === 'object' && answer !== null ? answer : {}) as Envelope;
      if (envelope.errcode === 0) return (envelope.result ?? envelope) as T;
      const sub = envelope.sub_code;
      const tokenInvalid =
        (envelope.errcode === 88 && sub !== undefined && TOKEN_INVALID.has(sub)) ||
        envelope.errcode === 40014 ||
        envelope.errcode === 42001;
      if (tokenInvalid && !refreshed) {
        refreshed = true;
        this.token = null;
        continue;
      }
      if ((envelope.errcode === 88 && sub === '60011') || envelope.errcode === 60011) {
        const text = `${envelope.sub_msg ?? ''} ${envelope.errmsg ?? ''}`;
        const scope = /\[([A-Za-z0-9_.]+)\]/.exec(text)?.[1] ?? API_SCOPES[path] ?? 'unknown';
        throw new DingTalkScopeError(path, envelope.errcode, envelope.errmsg ?? '', scope);
      }
      if (envelope.errcode === 90020) throw new DingTalkQuotaError(path, 90020, envelope.errmsg ?? '');
      await this.backoffOrThrow(path, envelope, answer, attempt);
    }
  }

  /**
   * Throttling (90018 and kin, -1 busy) and the per-IP ban's non-envelope body: wait (at least a
   * second, doubling) and let the caller retry. Anything else is an error for the caller.
   */
  private async backoffOrThrow(
    api: string,
    envelope: Envelope,
    raw: unknown,
    attempt: number,
  ): Promise<void> {
    const maxRetries = this.options.maxRetries ?? 6;
    const throttled = typeof envelope.errcode === 'number' && THROTTLED.has(envelope.errcode);
    const banned = envelope.errcode === undefined && typeof envelope.wait === 'number';
    const unparsed = typeof raw === 'string';
    if ((throttled || banned || unparsed) && attempt < maxRetries) {
      const waitMs = banned ? (envelope.wait as number) * 1000 : 1000 * 2 ** (attempt - 1);
      await this.sleep(Math.min(waitMs, 30000));
      return;
    }
    if (envelope.errcode === undefined) {
      throw new DingTalkError(
        api,
        'no_envelope',
        typeof raw === 'string' ? raw.slice(0, 200) : JSON.stringify(raw).slice(0, 200),
      );
    }
    throw new DingTalkError(api, envelope.errcode, envelope.errmsg ?? '', envelope.sub_code);
  }

  // ---- directory reads ----

  listSubDepartments(deptId: number): Promise<DingTalkDept[]> {
    return this.call<DingTalkDept[]>('topapi/v2/department/listsub', { dept_id: deptId, language: 'zh_CN' });
  }

  /** Every member of one department (not recursive), paging `v2/user/list` by cursor, 100 at a time. */
  async listDepartmentUsers(deptId: number): Promise<DingTalkUser[]> {
    const users: DingTalkUser[] = [];
    let cursor = 0;
    for (;;) {
      const page = await this.call<{ has_more: boolean; next_cursor?: number; list: DingTalkUser[] }>(
        'topapi/v2/user/list',
        {
          dept_id: deptId,
          cursor,
          size: 100,
          order_field: 'custom',
          contain_access_limit: false,
          language: 'zh_CN',
        },
      );
      users.push(...page.list);
      if (!page.has_more || page.next_cursor === undefined) return users;
      cursor = page.next_cursor;
    }
  }

  async listRoleGroups(): Promise<DingTalkRoleGroup[]> {
    const groups: DingTalkRoleGroup[] = [];
    for (let offset = 0; ;) {
      const page = await this.call<{ hasMore: boolean; list: DingTalkRoleGroup[] }>('topapi/role/list', {
        size: 200,
        offset,
      });
      groups.push(...page.list);
      if (!page.hasMore) return groups;
      offset += page.list.length;
    }
  }

  async listRoleMembers(roleId: number): Promise<string[]> {
    const members: string[] = [];
    for (let offset = 0; ;) {
      const page = await this.call<{ hasMore: boolean; list: { userid: string }[] }>(
        'topapi/role/simplelist',
        {
          role_id: roleId,
          size: 100,
          offset,
        },
      );
      members.push(...page.list.map((m) => m.userid));
      if (!page.hasMore) return members;
      offset += page.list.length;
    }
  }

  // ---- directory writes (push) ----

  async createDepartment(fields: { name: string; parent_id: number; order?: number }): Promise<number> {
    const result = await this.call<{ dept_id: number }>('topapi/v2/department/create', fields);
    return result.dept_id;
  }

  async updateDepartment(fields: { dept_id: number; name?: string; parent_id?: number }): Promise<void> {
    await this.call('topapi/v2/department/update', fields);
  }

  async deleteDepartment(deptId: number): Promise<void> {
    await this.call('topapi/v2/department/delete', { dept_id: deptId });
  }

  async createUser(fields: Record<string, unknown>): Promise<string> {
    const result = await this.call<{ userid: string }>('topapi/v2/user/create', fields);
    return result.userid;
  }

  async updateUser(fields: Record<string, unknown>): Promise<void> {
    await this.call('topapi/v2/user/update', fields);
  }

  async deleteUser(userid: string): Promise<void> {
    await this.call('topapi/v2/user/delete', { userid });
  }

  // ---- login ----

  /** In-app login code (`dd.runtime.permission.requestAuthCode`) to the DingTalk userid. */
  async userIdByAuthCode(code: string): Promise<string> {
    const result = await this.call<{ userid: string }>('topapi/v2/user/getuserinfo', { code });
    return result.userid;
  }

  /** unionid to userid; null for a stranger (60121) or an external contact. */
  async userIdByUnionId(unionid: string): Promise<string | null> {
    try {
      const result = await this.call<{ contact_type: number; userid: string }>('topapi/user/getbyunionid', {
        unionid,
      });
      return result.contact_type === 0 ? result.userid : null;
    } catch (error) {
      if (error instanceof DingTalkError && error.errcode === 60121) return null;
      throw error;
    }
  }
}

// The new API's throttling answers (HTTP 403 with these codes).
const NEW_API_THROTTLED = new Set([
  'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi',
  'Forbidden.AccessDenied.QpsLimitForApi',
]);

/** Whether DingTalk refused a call for its rate limits (old or new API), so waiting can help. */
export function isThrottled(error: unknown): boolean {
  if (!(error instanceof DingTalkError)) return false;
  return typeof error.errcode === 'number'
    ? THROTTLED.has(error.errcode)
    : NEW_API_THROTTLED.has(error.errcode);
}

/**
 * The sign-in exchanges run outside a client's limiter (they use the login app's credentials), so a
 * busy DingTalk is waited out here: up to `attempts` tries, a second and then two apart.
 */
export async function retryWhenThrottled<T>(
  exchange: () => Promise<T>,
  attempts = 3,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await exchange();
    } catch (error) {
      if (!isThrottled(error) || attempt >= attempts) throw error;
      await sleep(1000 * attempt);
    }
  }
}

/**
 * The live check of one credential pair when an admin saves it (contract: vendor credentials are
 * tested live): the internal app's `gettoken?appkey&appsecret`, the corp's `gettoken?corpid&corpsecret`,
 * the QR-login app's `sns/gettoken?appid&appsecret`. True when DingTalk hands out a token; throws when
 * DingTalk could not answer (unreachable, throttled), so the caller can tell "refused" from "unknown".
 */
export async function credentialsAccepted(
  apiBase: string,
  kind: 'app' | 'corp' | 'qr_app',
  id: string,
  secret: string,
): Promise<boolean> {
  const [path, query] =
    kind === 'app'
      ? ['gettoken', { appkey: id, appsecret: secret }]
      : kind === 'corp'
        ? ['gettoken', { corpid: id, corpsecret: secret }]
        : ['sns/gettoken', { appid: id, appsecret: secret }];
  const response = await fetch(`${apiBase}/${path}?${new URLSearchParams(query).toString()}`, {
    signal: AbortSignal.timeout(10000),
  });
  const text = await response.text();
  let envelope: Envelope;
  try {
    envelope = JSON.parse(text) as Envelope;
  } catch {
    throw new DingTalkError(path, 'no_envelope', text.slice(0, 200));
  }
  if (envelope.errcode === 0 && typeof envelope.access_token === 'string') return true;
  if (typeof envelope.errcode === 'number' && THROTTLED.has(envelope.errcode))
    throw new DingTalkError(path, envelope.errcode, envelope.errmsg ?? '');
  return false;
}

/** Legacy QR login: exchanges the temporary code for the scanner's unionid (signed with the QR app secret). */
export async function unionIdByQrCode(
  apiBase: string,
  qrAppId: string,
  qrAppSecret: string,
  code: string,
  now = Date.now(),
): Promise<string> {
  const timestamp = String(now);
  const signature = qrSignature(qrAppSecret, timestamp);
  const query = `accessKey=${encodeURIComponent(qrAppId)}&timestamp=${timestamp}&signature=${encodeURIComponent(signature)}`;
  const response = await fetch(`${apiBase}/sns/getuserinfo_bycode?${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ tmp_auth_code: code }),
    signal: AbortSignal.timeout(15000),
  });
  const envelope = (await response.json()) as Envelope & { user_info?: { unionid?: string } };
  if (envelope.errcode !== 0 || !envelope.user_info?.unionid) {
    throw new DingTalkError(
      'sns/getuserinfo_bycode',
      envelope.errcode ?? 'no_envelope',
      envelope.errmsg ?? '',
    );
  }
  return envelope.user_info.unionid;
}

/**
 * Current DingTalk OAuth2 login (`login.dingtalk.com/oauth2/auth` redirects back with `authCode`): the
 * code to a user access token on the new API, then the signed-in user's unionid from `users/me`.
 */
export async function unionIdByAuthCode(
  newApiBase: string,
  clientId: string,
  clientSecret: string,
  authCode: string,
): Promise<string> {
  const exchange = await fetch(`${newApiBase}/v1.0/oauth2/userAccessToken`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ clientId, clientSecret, code: authCode, grantType: 'authorization_code' }),
    signal: AbortSignal.timeout(15000),
  });
  const token = (await exchange.json()) as { accessToken?: string; code?: string; message?: string };
  if (!exchange.ok || !token.accessToken) {
    throw new DingTalkError(
      'v1.0/oauth2/userAccessToken',
      token.code ?? exchange.status,
      token.message ?? '',
    );
  }
  const me = await fetch(`${newApiBase}/v1.0/contact/users/me`, {
    headers: { 'x-acs-dingtalk-access-token': token.accessToken },
    signal: AbortSignal.timeout(15000),
  });
  const profile = (await me.json()) as { unionId?: string; code?: string; message?: string };
  if (!me.ok || !profile.unionId) {
    throw new DingTalkError('v1.0/contact/users/me', profile.code ?? me.status, profile.message ?? '');
  }
  return profile.unionId;
}

/** base64(HMAC-SHA256(key = app secret, message = the millisecond timestamp)). */
export function qrSignature(secret: string, timestamp: string): string {
  return createHmac('sha256', secret).update(timestamp, 'utf8').digest('base64');
}
