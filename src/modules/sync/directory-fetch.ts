import type { DingTalkClient, DingTalkUser } from './dingtalk/dingtalk.client';

export interface UpstreamDept {
  id: number;
  name: string;
  parentId: number;
  /** Position among its siblings, as DingTalk lists them. */
  order: number;
}

export interface UpstreamUser extends DingTalkUser {
  /** Every department the user was listed in or names in `dept_id_list`, ascending. */
  depts: number[];
}

export interface UpstreamRole {
  id: number;
  name: string;
  order: number;
  members: string[];
}

export interface UpstreamRoleGroup {
  groupId: number;
  name: string;
  order: number;
  roles: UpstreamRole[];
}

export interface UpstreamDirectory {
  /** Breadth-first from the root (1, which is not listed), so parents always come before children. */
  depts: UpstreamDept[];
  users: Map<string, UpstreamUser>;
  roleGroups: UpstreamRoleGroup[];
}

export interface FetchHooks {
  signal: AbortSignal;
  progress(stage: string, done: number, total: number): Promise<void>;
}

/** Calls in flight at once; the client's rate limit, not this, sets the pace. */
const PARALLEL = 4;

async function mapLimit<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
  signal: AbortSignal,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      if (signal.aborted) throw signal.reason;
      const index = next++;
      results[index] = await work(items[index]);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Only the fields the sync reads: 10 000 members' full records would hold several times the memory. */
function trimmed(user: DingTalkUser): DingTalkUser {
  const keep: DingTalkUser = { userid: user.userid, name: user.name, dept_id_list: user.dept_id_list ?? [] };
  for (const key of [
    'unionid',
    'mobile',
    'state_code',
    'email',
    'org_email',
    'title',
    'job_number',
    'avatar',
  ] as const) {
    if (user[key] !== undefined) keep[key] = user[key];
  }
  return keep;
}

/** Reads the whole directory: departments level by level, every department's members, roles. */
export async function fetchDirectory(
  client: DingTalkClient,
  hooks: FetchHooks,
  options: { roles: boolean } = { roles: true },
): Promise<UpstreamDirectory> {
  const depts: UpstreamDept[] = [];
  let level = [1];
  while (level.length > 0) {
    const children = await mapLimit(level, PARALLEL, (id) => client.listSubDepartments(id), hooks.signal);
    const nextLevel: number[] = [];
    children.forEach((list, index) => {
      list.forEach((child, order) => {
        depts.push({ id: child.dept_id, name: child.name, parentId: level[index], order });
        nextLevel.push(child.dept_id);
      });
    });
    await hooks.progress('departments', depts.length, depts.length);
    level = nextLevel;
  }

  const users = new Map<string, UpstreamUser>();
  const deptIds = [1, ...depts.map((d) => d.id)];
  let listed = 0;
  await mapLimit(
    deptIds,
    PARALLEL,
    async (deptId) => {
      for (const user of await client.listDepartmentUsers(deptId)) {
        const seen = users.get(user.userid);
        const union = new Set([...(seen?.depts ?? []), ...(user.dept_id_list ?? []), deptId]);
        users.set(user.userid, { ...trimmed(user), depts: [...union].sort((a, b) => a - b) });
      }
      listed += 1;
      await hooks.progress('users', listed, deptIds.length);
    },
    hooks.signal,
  );

  const roleGroups: UpstreamRoleGroup[] = [];
  if (!options.roles) return { depts, users, roleGroups };
  const groups = await client.listRoleGroups();
  const roleCount = groups.reduce((n, g) => n + g.roles.length, 0);
  let rolesRead = 0;
  for (const [order, group] of groups.entries()) {
    const roles = await mapLimit(
      group.roles.map((role, index) => ({ role, index })),
      PARALLEL,
      async ({ role, index }) => {
        const members = await client.listRoleMembers(role.id);
        rolesRead += 1;
        await hooks.progress('roles', rolesRead, roleCount);
        return { id: role.id, name: role.name, order: index, members };
      },
      hooks.signal,
    );
    roleGroups.push({ groupId: group.groupId, name: group.name, order, roles });
  }
  return { depts, users, roleGroups };
}
