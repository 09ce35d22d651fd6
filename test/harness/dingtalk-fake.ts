import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback DingTalk open API for the tests and the benchmark: the `oapi` paths the sync and the
 * login use, with DingTalk's wire format (HTTP 200 with errcode/errmsg/request_id, `result` payloads,
 * cursor and offset paging, camelCase inside role results), its error codes (88 + sub_code for token
 * and permission failures, 60011 naming the scope, 90018 throttling, 400002 bad size, 60003, 60121,
 * 40078, 853002/853004, 22 for unknown APIs) and a real per-app QPS counter. State is in memory and
 * driven directly by the test (seed, inject errors, read what was written).
 */

export interface FakeDept {
  dept_id: number;
  name: string;
  parent_id: number;
  order: number;
}

export interface FakeUser {
  userid: string;
  unionid: string;
  name: string;
  mobile?: string;
  email?: string;
  title?: string;
  job_number?: string;
  dept_id_list: number[];
}

export interface FakeRoleGroup {
  groupId: number;
  name: string;
  roles: { id: number; name: string; members: string[] }[];
}

const ALL_SCOPES = [
  'qyapi_get_department_list',
  'qyapi_get_department_member',
  'qyapi_get_member',
  'qyapi_manage_addresslist',
];

const SCOPE_OF: Record<string, string> = {
  'topapi/v2/department/listsub': 'qyapi_get_department_list',
  'topapi/v2/department/listsubid': 'qyapi_get_department_list',
  'topapi/v2/department/get': 'qyapi_get_department_list',
  'topapi/v2/user/list': 'qyapi_get_department_member',
  'topapi/user/listsimple': 'qyapi_get_department_member',
  'topapi/user/listid': 'qyapi_get_department_member',
  'topapi/v2/user/get': 'qyapi_get_member',
  'topapi/role/list': 'qyapi_get_member',
  'topapi/role/simplelist': 'qyapi_get_member',
  'topapi/user/getbyunionid': 'qyapi_get_member',
  'topapi/v2/user/getuserinfo': 'qyapi_get_member',
  'topapi/v2/user/create': 'qyapi_manage_addresslist',
  'topapi/v2/user/update': 'qyapi_manage_addresslist',
  'topapi/v2/user/delete': 'qyapi_manage_addresslist',
  'topapi/v2/department/create': 'qyapi_manage_addresslist',
  'topapi/v2/department/update': 'qyapi_manage_addresslist',
  'topapi/v2/department/delete': 'qyapi_manage_addresslist',
};

/** A request field as text (DingTalk form bodies are strings; JSON bodies may carry numbers). */
const str = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : '';

const requestId = (): string => randomBytes(7).toString('hex').slice(0, 13);

export class FakeDingTalk {
  readonly appKey = 'dingfakeappkey';
  readonly appSecret = 'fake-app-secret-0123456789';
  readonly qrAppId = 'dingoaqrapp';
  readonly qrAppSecret = 'fake-qr-secret';
  readonly corpId = 'dingfakecorp';
  readonly corpSecret = 'fake-corp-secret';
  /** Seconds an access token lives. */
  tokenTtlSeconds = 7200;
  scopes = new Set(ALL_SCOPES);
  /** Above this many requests in any one second the app is throttled with 90018 (as DingTalk does). */
  qpsLimit = 20;
  /** Added before every answer, to stand in for the network. */
  latencyMs = 0;

  depts = new Map<number, FakeDept>();
  users = new Map<string, FakeUser>();
  roleGroups: FakeRoleGroup[] = [];
  /** In-app login codes (5-minute, single use) and QR temporary codes, to the user they sign in. */
  loginCodes = new Map<string, string>();
  qrCodes = new Map<string, string>();
  /** `authCode`s of the current OAuth2 login, and the user access tokens they were exchanged for. */
  oauthCodes = new Map<string, string>();
  private readonly userTokens = new Map<string, string>();

  /** Every request's path and arrival time (ms), for rate assertions. */
  readonly log: { path: string; at: number }[] = [];
  readonly writes: { path: string; body: Record<string, unknown> }[] = [];
  private readonly injected: { path: string; count: number; answer: Record<string, unknown> }[] = [];
  private token: { value: string; expiresAt: number } | null = null;
  private nextDeptId = 1000000;
  private server: Server | null = null;
  url = '';

  constructor() {
    this.reset();
  }

  reset(): void {
    this.depts = new Map([[1, { dept_id: 1, name: 'Fake Corp', parent_id: 0, order: 0 }]]);
    this.users = new Map();
    this.roleGroups = [];
    this.scopes = new Set(ALL_SCOPES);
    this.injected.length = 0;
    this.log.length = 0;
    this.writes.length = 0;
  }

  addDept(dept_id: number, name: string, parent_id: number, order = 0): void {
    this.depts.set(dept_id, { dept_id, name, parent_id, order });
  }

  addUser(user: Omit<FakeUser, 'unionid'> & { unionid?: string }): void {
    this.users.set(user.userid, { unionid: `union-${user.userid}`, ...user });
  }

  /** The next `count` requests to `path` get `answer` instead (e.g. throttling). */
  inject(path: string, count: number, answer: Record<string, unknown>): void {
    this.injected.push({ path, count, answer });
  }

  throttleNext(path: string, count: number): void {
    this.inject(path, count, { errcode: 90018, errmsg: '当前请求过多, 请稍后重试' });
  }

  /** The most requests that arrived within any one-second window. */
  peakPerSecond(): number {
    const times = this.log.map((l) => l.at).sort((a, b) => a - b);
    let peak = 0;
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      while (times[end] - times[start] >= 1000) start++;
      peak = Math.max(peak, end - start + 1);
    }
    return peak;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ---- wire ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Arrival, before the body is read: what DingTalk's per-second counter sees.
    const now = Date.now();
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/^\/+/, '');
    const raw = await new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
      req.on('end', () => resolve(data));
    });
    let body: Record<string, unknown> = {};
    if (raw !== '') {
      if ((req.headers['content-type'] ?? '').includes('application/json')) {
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          body = {};
        }
      } else {
        body = Object.fromEntries(new URLSearchParams(raw));
      }
    }
    this.log.push({ path, at: now });
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    if (path.startsWith('v1.0/')) {
      const [status, answer] = this.newApi(path, req.headers['x-acs-dingtalk-access-token'], body);
      res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8' });
      res.end(JSON.stringify(status === 200 ? answer : { requestid: requestId(), ...answer }));
      return;
    }
    const answer = this.route(path, url.searchParams, body, now);
    res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8' });
    res.end(JSON.stringify({ ...answer, request_id: requestId() }));
  }

  private route(
    path: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
    now: number,
  ): Record<string, unknown> {
    const ok = (result?: unknown) =>
      result === undefined ? { errcode: 0, errmsg: 'ok' } : { errcode: 0, errmsg: 'ok', result };
    const fail = (errcode: number, errmsg: string) => ({ errcode, errmsg });
    const gateway = (sub_code: string, sub_msg: string) => ({
      errcode: 88,
      sub_code,
      sub_msg,
      errmsg: `ding talk error[subcode=${sub_code},submsg=${sub_msg}]`,
    });

    const injected = this.injected.find((i) => i.path === path && i.count > 0);
    if (injected) {
      injected.count -= 1;
      return injected.answer;
    }
    const window = this.log.filter((l) => now - l.at < 1000).length;
    if (window > this.qpsLimit) return fail(90018, '当前请求过多, 请稍后重试');

    if (path === 'gettoken') {
      // The internal app's appkey/appsecret, or the legacy corpid/corpsecret.
      const corp = query.has('corpid');
      const appkey = query.get('appkey') ?? query.get('corpid');
      const appsecret = query.get('appsecret') ?? query.get('corpsecret');
      if (!appkey || !appsecret) return fail(40035, '缺少参数 corpid or appkey');
      if (corp && (appkey !== this.corpId || appsecret !== this.corpSecret))
        return fail(40089, '不合法的corpid或corpsecret');
      if (!corp && (appkey !== this.appKey || appsecret !== this.appSecret))
        return fail(40096, '不合法的appKey或appSecret');
      if (!this.token || this.token.expiresAt <= now) {
        this.token = { value: randomBytes(16).toString('hex'), expiresAt: now + this.tokenTtlSeconds * 1000 };
      }
      return {
        errcode: 0,
        errmsg: 'ok',
        access_token: this.token.value,
        expires_in: Math.round((this.token.expiresAt - now) / 1000),
      };
    }
    // The QR-login app's own token (legacy `sns/gettoken`), used to check its credentials.
    if (path === 'sns/gettoken') {
      if (query.get('appid') !== this.qrAppId || query.get('appsecret') !== this.qrAppSecret)
        return fail(40089, '不合法的appid或appsecret');
      return { errcode: 0, errmsg: 'ok', access_token: randomBytes(16).toString('hex'), expires_in: 7200 };
    }
    if (path === 'sns/getuserinfo_bycode') return this.qrLogin(query, body, now);
    if (!path.startsWith('topapi/')) return { errcode: 404, errmsg: '请求的URI地址不存在' };

    const token =
      query.get('access_token') ?? (typeof body.access_token === 'string' ? body.access_token : '');
    if (!token) return gateway('40000', 'access_token is blank');
    if (!this.token || token !== this.token.value || this.token.expiresAt <= now)
      return gateway('40014', '不合法的access_token');
    const scope = SCOPE_OF[path];
    if (!scope) {
      return {
        errcode: 22,
        sub_msg: `不合法ApiName，ApiName = dingtalk.oapi.${path.replace(/\//g, '.')}`,
        errmsg: `Invalid method[${path}]`,
      };
    }
    if (!this.scopes.has(scope)) return gateway('60011', `应用尚未开通所需的权限：[${scope}]`);
    const num = (v: unknown, d: number) => (v === undefined || v === '' ? d : Number(v));

    switch (path) {
      case 'topapi/v2/department/listsub': {
        const id = num(body.dept_id, 1);
        if (!this.depts.has(id)) return fail(60003, '部门不存在');
        return ok(
          [...this.depts.values()]
            .filter((d) => d.parent_id === id && d.dept_id !== 1)
            .sort((a, b) => a.order - b.order || a.dept_id - b.dept_id)
            .map((d) => ({
              dept_id: d.dept_id,
              name: d.name,
              parent_id: d.parent_id,
              create_dept_group: false,
              auto_add_user: false,
            })),
        );
      }
      case 'topapi/v2/user/list': {
        const id = num(body.dept_id, NaN);
        const size = num(body.size, NaN);
        const cursor = num(body.cursor, NaN);
        if (Number.isNaN(id) || Number.isNaN(size) || Number.isNaN(cursor) || size > 100 || size < 1) {
          return fail(400002, '无效的参数');
        }
        if (!this.depts.has(id)) return fail(60003, '部门不存在');
        const members = [...this.users.values()]
          .filter((u) => u.dept_id_list.includes(id))
          .sort((a, b) => (a.userid < b.userid ? -1 : 1));
        const page = members.slice(cursor, cursor + size);
        const hasMore = cursor + size < members.length;
        return ok({
          has_more: hasMore,
          ...(hasMore ? { next_cursor: cursor + size } : {}),
          list: page.map((u) => this.listShape(u)),
        });
      }
      case 'topapi/role/list': {
        const size = num(body.size, 20);
        const offset = num(body.offset, 0);
        if (size > 200) return fail(400002, '无效的参数');
        const page = this.roleGroups.slice(offset, offset + size);
        return ok({
          hasMore: offset + size < this.roleGroups.length,
          list: page.map((g) => ({
            groupId: g.groupId,
            name: g.name,
            roles: g.roles.map((r) => ({ id: r.id, name: r.name })),
          })),
        });
      }
      case 'topapi/role/simplelist': {
        const size = num(body.size, 20);
        const offset = num(body.offset, 0);
        if (size > 100) return fail(400002, '无效的参数');
        const role = this.roleGroups.flatMap((g) => g.roles).find((r) => r.id === num(body.role_id, -1));
        if (!role) return fail(400002, '无效的参数');
        const page = role.members.slice(offset, offset + size);
        return ok({
          hasMore: offset + size < role.members.length,
          list: page.map((userid) => ({
            userid,
            name: this.users.get(userid)?.name ?? '',
            manageScopes: [],
          })),
        });
      }
      case 'topapi/v2/user/getuserinfo': {
        const code = str(body.code);
        const userid = this.loginCodes.get(code);
        if (!userid) return fail(40078, '不存在的临时授权码');
        this.loginCodes.delete(code);
        const user = this.users.get(userid);
        return ok({
          userid,
          device_id: 'dev',
          sys: false,
          sys_level: 0,
          unionid: user?.unionid ?? '',
          name: user?.name ?? '',
        });
      }
      case 'topapi/user/getbyunionid': {
        const user = [...this.users.values()].find((u) => u.unionid === body.unionid);
        if (!user) return fail(60121, '找不到该用户');
        return ok({ contact_type: 0, userid: user.userid });
      }
      case 'topapi/v2/user/create': {
        this.writes.push({ path, body });
        if (!body.name || !body.mobile || !body.dept_id_list) return fail(400002, '无效的参数');
        if ([...this.users.values()].some((u) => u.mobile === body.mobile))
          return fail(60104, '手机号码在公司中已存在');
        const userid =
          typeof body.userid === 'string' && body.userid !== ''
            ? body.userid
            : `u${randomBytes(6).toString('hex')}`;
        const depts = str(body.dept_id_list).split(',').map(Number);
        this.addUser({
          userid,
          name: str(body.name),
          mobile: str(body.mobile),
          email: body.org_email === undefined ? undefined : str(body.org_email),
          title: body.title === undefined ? undefined : str(body.title),
          job_number: body.job_number === undefined ? undefined : str(body.job_number),
          dept_id_list: depts,
        });
        return ok({ userid, unionId: `union-${userid}` });
      }
      case 'topapi/v2/user/update': {
        this.writes.push({ path, body });
        const user = this.users.get(str(body.userid));
        if (!user) return fail(60121, '找不到该用户');
        if (body.name !== undefined) user.name = str(body.name);
        if (body.mobile !== undefined) user.mobile = str(body.mobile);
        if (body.org_email !== undefined) user.email = str(body.org_email);
        if (body.title !== undefined) user.title = str(body.title);
        if (body.job_number !== undefined) user.job_number = str(body.job_number);
        if (body.dept_id_list !== undefined)
          user.dept_id_list = str(body.dept_id_list).split(',').map(Number);
        return ok();
      }
      case 'topapi/v2/user/delete': {
        this.writes.push({ path, body });
        if (!this.users.delete(str(body.userid))) return fail(33012, '无效的USERID');
        return ok();
      }
      case 'topapi/v2/department/create': {
        this.writes.push({ path, body });
        const parent = num(body.parent_id, NaN);
        if (!body.name || !this.depts.has(parent)) return fail(400002, '无效的参数');
        const id = this.nextDeptId++;
        this.addDept(id, str(body.name), parent, num(body.order, 0));
        return ok({ dept_id: id });
      }
      case 'topapi/v2/department/update': {
        this.writes.push({ path, body });
        const dept = this.depts.get(num(body.dept_id, -1));
        if (!dept) return fail(60003, '部门不存在');
        if (body.name !== undefined) dept.name = str(body.name);
        if (body.parent_id !== undefined) dept.parent_id = Number(body.parent_id);
        return ok();
      }
      case 'topapi/v2/department/delete': {
        this.writes.push({ path, body });
        const id = num(body.dept_id, -1);
        if (!this.depts.has(id) || id === 1) return fail(60003, '部门不存在');
        const busy =
          [...this.depts.values()].some((d) => d.parent_id === id) ||
          [...this.users.values()].some((u) => u.dept_id_list.includes(id));
        if (busy) return fail(60005, '部门中存在员工或子部门, 不允许删除');
        this.depts.delete(id);
        return ok();
      }
      default:
        return { errcode: 22, errmsg: `Invalid method[${path}]` };
    }
  }

  /** The new API host: real HTTP statuses and `{requestid, code, message}` errors. */
  private newApi(
    path: string,
    header: string | string[] | undefined,
    body: Record<string, unknown>,
  ): [number, Record<string, unknown>] {
    if (path === 'v1.0/oauth2/userAccessToken') {
      if (body.clientId !== this.qrAppId || body.clientSecret !== this.qrAppSecret) {
        return [400, { code: 'invalidClientIdOrSecret', message: '无效的clientId或者clientSecret' }];
      }
      const userid = this.oauthCodes.get(str(body.code));
      if (!userid || body.grantType !== 'authorization_code') {
        return [400, { code: 'invalidAuthCode', message: '不合法的临时授权码' }];
      }
      this.oauthCodes.delete(str(body.code));
      const accessToken = randomBytes(16).toString('hex');
      this.userTokens.set(accessToken, userid);
      return [
        200,
        { accessToken, refreshToken: randomBytes(16).toString('hex'), expireIn: 7200, corpId: 'dingcorp' },
      ];
    }
    if (path === 'v1.0/contact/users/me') {
      const userid = typeof header === 'string' ? this.userTokens.get(header) : undefined;
      if (!userid) return [400, { code: 'InvalidAuthentication', message: '不合法的access_token' }];
      const user = this.users.get(userid);
      return [
        200,
        {
          nick: user?.name ?? '',
          avatarUrl: '',
          openId: `open-${userid}`,
          unionId: user?.unionid ?? '',
          stateCode: '86',
        },
      ];
    }
    return [404, { code: 'NotFound', message: '请求的URI地址不存在' }];
  }

  private listShape(u: FakeUser): Record<string, unknown> {
    const shaped: Record<string, unknown> = {
      userid: u.userid,
      unionid: u.unionid,
      name: u.name,
      avatar: '',
      title: u.title ?? '',
      job_number: u.job_number ?? '',
      dept_id_list: u.dept_id_list,
      dept_order: 176294576,
      leader: false,
      active: true,
      admin: false,
      boss: false,
      hide_mobile: false,
      exclusive_account: false,
      extension: '{}',
      remark: '',
      work_place: '',
      telephone: '',
      hired_date: 1597573616828,
    };
    // Personal fields need their own scopes in DingTalk; here the app has them.
    if (u.mobile) Object.assign(shaped, { mobile: u.mobile, state_code: '86' });
    if (u.email) shaped.email = u.email;
    return shaped;
  }

  private qrLogin(
    query: URLSearchParams,
    body: Record<string, unknown>,
    now: number,
  ): Record<string, unknown> {
    if (query.get('accessKey') !== this.qrAppId) return { errcode: 853003, errmsg: '无效的accessKey' };
    const timestamp = query.get('timestamp') ?? '';
    if (!/^\d{13}$/.test(timestamp)) return { errcode: 853001, errmsg: '无效的timestamp' };
    if (Math.abs(now - Number(timestamp)) > 60000) return { errcode: 853002, errmsg: 'timestamp过期' };
    const expected = createHmac('sha256', this.qrAppSecret).update(timestamp).digest('base64');
    if (query.get('signature') !== expected) return { errcode: 853004, errmsg: '签名不匹配' };
    const code = str(body.tmp_auth_code);
    const userid = this.qrCodes.get(code);
    if (!userid) return { errcode: 40078, errmsg: '不存在的临时授权码' };
    this.qrCodes.delete(code);
    const user = this.users.get(userid);
    return {
      errcode: 0,
      errmsg: 'ok',
      user_info: {
        nick: user?.name ?? '',
        unionid: user?.unionid ?? `stranger-${code}`,
        dingId: '$:LWCP_v1:$x',
        openid: 'o',
        main_org_auth_high_level: true,
      },
    };
  }
}

/** A directory of `departments` departments (a tree a few levels deep) and `users` users, some in two. */
export function seedDirectory(fake: FakeDingTalk, departments: number, users: number): void {
  for (let i = 0; i < departments; i++) {
    const id = 100 + i;
    const parent = i < 10 ? 1 : 100 + Math.floor((i - 10) / 10);
    fake.addDept(id, `部门${i}`, parent, i % 10);
  }
  for (let i = 0; i < users; i++) {
    const dept = 100 + (i % departments);
    const second = i % 7 === 0 ? [100 + ((i + 3) % departments)] : [];
    fake.addUser({
      userid: `staff${String(i).padStart(5, '0')}`,
      name: `员工${i}`,
      mobile: `139${String(i).padStart(8, '0')}`,
      email: `staff${i}@corp.example`,
      title: i % 3 === 0 ? '工程师' : '专员',
      job_number: `E${i}`,
      dept_id_list: [...new Set([dept, ...second])],
    });
  }
  fake.roleGroups = [
    {
      groupId: 9001,
      name: '职务',
      roles: [
        { id: 9101, name: '经理', members: [...fake.users.keys()].slice(0, 5) },
        { id: 9102, name: '主管', members: [...fake.users.keys()].slice(5, 8) },
      ],
    },
  ];
}
