import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { UNRESTRICTED_SCOPE } from '../../common/guards/admin-scope';
import { Clock } from '../../common/time/clock';
import { MOBILE_PATTERN } from '../accounts/dto/user-input.dto';
import type { UserEntity } from '../accounts/entities/user.entity';
import { type ImportedUserFields, UsersService } from '../accounts/users.service';
import { type AuditEntryInput, AuditService } from '../audit/audit.service';
import type { JobContext } from '../jobs/job-registry';
import { OrgMembershipsService } from '../org/memberships.service';
import { OrgService } from '../org/org.service';
import { DingConfigService } from './ding-config.service';
import { DingMappingRepository } from './ding-mapping.repository';
import { fetchDirectory, type UpstreamDirectory, type UpstreamUser } from './directory-fetch';
import { DingNodeEntity, DingUserEntity } from './entities/ding.entities';

const DEPT_ROOT_ID = 1;
const ROLE_CATEGORY_ID = 5;
const USER_BATCH = 200;
const SAMPLE = 50;

type Fields = Omit<ImportedUserFields, 'username'>;

interface NodePlan {
  key: string;
  name: string;
  parentKey: string | null;
  /** Arbor parent when it is not a synced node (d_root, g_role). */
  parentNodeId: number | null;
  order: number;
  nodeId: number | null;
  kind: 'dept' | 'group';
}

interface UserPlan {
  upstream: UpstreamUser;
  user: UserEntity | null;
  mapping: DingUserEntity | null;
  /** A first-time match (by mobile or e-mail) of an unmapped DingTalk user to an existing account. */
  matchedBy: 'mobile' | 'email' | null;
  username: string;
  fields: Fields;
  changes: Partial<UserEntity> | null;
  enable: boolean;
  hash: string;
  addTo: number[];
  removeFrom: number[];
}

export interface PullSummary {
  dry_run: boolean;
  fetched: { departments: number; users: number; role_groups: number; roles: number };
  departments: { create: number; update: number; move: number; remove: number };
  groups: { create: number; update: number; remove: number };
  users: {
    create: number;
    update: number;
    move: number;
    disable: number;
    delete: number;
    enable: number;
    unchanged: number;
    leavers_ignored: number;
  };
  /** Up to 50 DingTalk userids per kind of change. */
  samples: Record<string, string[]>;
  writes: number;
  requests: number;
  /** The most DingTalk requests sent within any one second (never above DINGTALK_MAX_RPS). */
  peak_requests_per_second: number;
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

function sample(list: string[], value: string): void {
  if (list.length < SAMPLE) list.push(value);
}

/** DingTalk's member record as the Arbor fields it sets; fields DingTalk omitted (no scope) stay as they are. */
export function fieldsOf(user: UpstreamUser): { fields: Fields; problems: string[] } {
  const fields: Fields = { name: user.name.slice(0, 255) };
  const problems: string[] = [];
  if (user.mobile) {
    const mobile =
      !user.state_code || user.state_code === '86' ? user.mobile : `+${user.state_code} ${user.mobile}`;
    if (MOBILE_PATTERN.test(mobile)) fields.mobile = mobile;
    else problems.push(`mobile "${mobile}" is not a valid number; kept the current one`);
  }
  const email = user.org_email || user.email;
  if (email !== undefined) fields.email = email.slice(0, 255);
  if (user.title !== undefined) fields.position = user.title.slice(0, 255);
  if (user.job_number !== undefined) fields.employee_number = user.job_number.slice(0, 64);
  if (user.avatar !== undefined) fields.avatar = user.avatar.slice(0, 255);
  return { fields, problems };
}

/** A username from a DingTalk userid: lowercase letters and digits, 4 to 32 of them. */
export function usernameBase(userid: string): string {
  const base = userid.toLowerCase().replace(/[^a-z0-9]/g, '');
  return (base.length >= 4 ? base : `ding${base}`).slice(0, 32);
}

/**
 * Pull: reads the DingTalk directory and brings Arbor's synced departments, role groups, roles, users
 * and their memberships to it. DingTalk ids are mapped to Arbor ids in this room's tables; only synced
 * memberships are touched, so local ones (and passwords, remarks, private e-mail) survive. Every change
 * is compared first, so a pull with no upstream change writes nothing. Writes go in batches, each in
 * its own transaction with its audit entries; a pull interrupted half-way is simply run again (the
 * mapping makes every step idempotent).
 */
@Injectable()
export class DingPullService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly dingConfig: DingConfigService,
    private readonly mappings: DingMappingRepository,
    private readonly org: OrgService,
    private readonly memberships: OrgMembershipsService,
    private readonly users: UsersService,
    private readonly audit: AuditService,
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  async run(
    context: Pick<JobContext, 'signal' | 'progress' | 'recordError'>,
    dryRun: boolean,
  ): Promise<PullSummary> {
    const client = await this.dingConfig.client();
    const settings = await this.dingConfig.effective();
    const before = client.requests;
    client.resetPeak();
    const upstream = await fetchDirectory(client, context);
    const summary: PullSummary = {
      dry_run: dryRun,
      fetched: {
        departments: upstream.depts.length + 1,
        users: upstream.users.size,
        role_groups: upstream.roleGroups.length,
        roles: upstream.roleGroups.reduce((n, g) => n + g.roles.length, 0),
      },
      departments: { create: 0, update: 0, move: 0, remove: 0 },
      groups: { create: 0, update: 0, remove: 0 },
      users: {
        create: 0,
        update: 0,
        move: 0,
        disable: 0,
        delete: 0,
        enable: 0,
        unchanged: 0,
        leavers_ignored: 0,
      },
      samples: { create: [], update: [], move: [], disable: [], delete: [], enable: [], leavers_ignored: [] },
      writes: 0,
      requests: 0,
      peak_requests_per_second: 0,
    };
    const fail = (record: string, code: string, message: string) =>
      context.recordError({ record, code, message });

    // ---- departments, role groups and roles ----
    const { nodes: arborNodes } = await this.org.snapshot(this.dataSource.manager);
    const nodeById = new Map(arborNodes.map((n) => [n.id, n]));
    const nodeMaps = new Map((await this.mappings.allNodes()).map((m) => [m.dingKey, m]));
    const liveNodeId = (key: string): number | null => {
      const id = nodeMaps.get(key)?.nodeId;
      return id !== undefined && nodeById.has(id) ? id : null;
    };
    const plans: NodePlan[] = [];
    for (const dept of upstream.depts) {
      plans.push({
        key: `dept:${dept.id}`,
        name: dept.name,
        parentKey: dept.parentId === DEPT_ROOT_ID ? null : `dept:${dept.parentId}`,
        parentNodeId: dept.parentId === DEPT_ROOT_ID ? 1 : null,
        order: dept.order,
        nodeId: liveNodeId(`dept:${dept.id}`),
        kind: 'dept',
      });
    }
    for (const group of upstream.roleGroups) {
      plans.push({
        key: `rolegroup:${group.groupId}`,
        name: group.name,
        parentKey: null,
        parentNodeId: ROLE_CATEGORY_ID,
        order: group.order,
        nodeId: liveNodeId(`rolegroup:${group.groupId}`),
        kind: 'group',
      });
      for (const role of group.roles) {
        plans.push({
          key: `role:${role.id}`,
          name: role.name,
          parentKey: `rolegroup:${group.groupId}`,
          parentNodeId: null,
          order: role.order,
          nodeId: liveNodeId(`role:${role.id}`),
          kind: 'group',
        });
      }
    }
    const upstreamKeys = new Set(plans.map((p) => p.key));
    const removedKeys = [...nodeMaps.keys()].filter((key) => !upstreamKeys.has(key));
    const changedPlans = plans.filter((plan) => {
      if (plan.nodeId === null) return true;
      const node = nodeById.get(plan.nodeId);
      const parentId = plan.parentNodeId ?? liveNodeId(plan.parentKey as string);
      return !node || node.name !== plan.name || node.parentId !== parentId || node.orderNo !== plan.order;
    });
    for (const plan of changedPlans) {
      const counts = plan.kind === 'dept' ? summary.departments : summary.groups;
      if (plan.nodeId === null) counts.create += 1;
      else if (plan.kind === 'dept') {
        const node = nodeById.get(plan.nodeId);
        const parentId = plan.parentNodeId ?? liveNodeId(plan.parentKey as string);
        if (node && node.parentId !== parentId) summary.departments.move += 1;
        else summary.departments.update += 1;
      } else summary.groups.update += 1;
    }
    for (const key of removedKeys) {
      if (key.startsWith('dept:')) summary.departments.remove += 1;
      else summary.groups.remove += 1;
    }

    const keyToNodeId = new Map<string, number>();
    for (const plan of plans) if (plan.nodeId !== null) keyToNodeId.set(plan.key, plan.nodeId);
    if (!dryRun && changedPlans.length > 0) {
      await this.tx.run(async (manager) => {
        const entries: AuditEntryInput[] = [];
        for (const plan of changedPlans) {
          const parentId = plan.parentNodeId ?? keyToNodeId.get(plan.parentKey as string);
          if (parentId === undefined) {
            fail(plan.key, 'parent_missing', `parent ${plan.parentKey} of ${plan.name} is not synced`);
            continue;
          }
          const label = plan.kind === 'dept' ? '部门' : '组';
          if (plan.nodeId === null) {
            const node = await this.org.createSyncedWithin(manager, parentId, plan.name, plan.order);
            keyToNodeId.set(plan.key, node.id);
            await this.mappings.saveNode(
              manager,
              Object.assign(new DingNodeEntity(), {
                dingKey: plan.key,
                nodeId: node.id,
                dataHash: hashOf([plan.name, plan.parentKey, plan.order]),
                data: JSON.stringify({ name: plan.name, parent: plan.parentKey, order: plan.order }),
              }),
            );
            entries.push({
              subject: plan.kind === 'dept' ? 'dept_create' : 'group_create',
              summary: `钉钉同步: 创建${label} ${plan.name}`,
              targetNodeId: node.id,
            });
          } else {
            const change = await this.org.updateSyncedWithin(manager, plan.nodeId, {
              name: plan.name,
              parentId,
              orderNo: plan.order,
            });
            entries.push({
              subject: change.moved
                ? plan.kind === 'dept'
                  ? 'dept_move'
                  : 'group_move'
                : plan.kind === 'dept'
                  ? 'dept_update'
                  : 'group_update',
              summary: `钉钉同步: ${change.moved ? '移动' : '修改'}${label} ${plan.name}`,
              targetNodeId: plan.nodeId,
            });
          }
          summary.writes += 1;
        }
        await this.audit.recordMany(manager, entries);
      });
    }

    // ---- users ----
    const userPlans = await this.planUsers(upstream, keyToNodeId, fail);
    for (const plan of userPlans) {
      if (!plan.user) {
        summary.users.create += 1;
        sample(summary.samples.create, plan.upstream.userid);
        continue;
      }
      const touched =
        plan.changes !== null || plan.enable || plan.mapping === null || plan.mapping.dataHash !== plan.hash;
      if (plan.addTo.length > 0 || plan.removeFrom.length > 0) {
        summary.users.move += 1;
        sample(summary.samples.move, plan.upstream.userid);
      }
      if (plan.enable) {
        summary.users.enable += 1;
        sample(summary.samples.enable, plan.upstream.userid);
      }
      if (plan.changes !== null || plan.matchedBy) {
        summary.users.update += 1;
        sample(summary.samples.update, plan.upstream.userid);
      }
      if (!touched && plan.addTo.length === 0 && plan.removeFrom.length === 0) summary.users.unchanged += 1;
    }
    if (!dryRun) {
      const pending = userPlans.filter(
        (p) =>
          !p.user ||
          p.changes !== null ||
          p.enable ||
          !p.mapping ||
          p.mapping.dataHash !== p.hash ||
          p.addTo.length > 0 ||
          p.removeFrom.length > 0,
      );
      for (let start = 0; start < pending.length; start += USER_BATCH) {
        if (context.signal.aborted) throw context.signal.reason;
        summary.writes += await this.applyUsers(pending.slice(start, start + USER_BATCH));
        await context.progress('writing users', Math.min(start + USER_BATCH, pending.length), pending.length);
      }
    }

    // ---- role memberships ----
    summary.writes += await this.syncRoleMembers(upstream, keyToNodeId, dryRun);

    // ---- leavers ----
    summary.writes += await this.leavers(
      upstream,
      settings.leaverPolicy,
      settings.leaverDeleteDays,
      dryRun,
      summary,
      fail,
    );

    // ---- departments and roles gone upstream (children first) ----
    if (!dryRun && removedKeys.length > 0) {
      const ordered = removedKeys
        .map((key) => ({ key, node: nodeById.get(nodeMaps.get(key)?.nodeId ?? -1) }))
        .sort((a, b) => (b.node?.depth ?? 0) - (a.node?.depth ?? 0));
      for (const { key, node } of ordered) {
        await this.tx.run(async (manager) => {
          if (!node) {
            await this.mappings.deleteNode(manager, key);
            return;
          }
          if (await this.org.removeSyncedWithin(manager, node.id)) {
            await this.mappings.deleteNode(manager, key);
            await this.audit.record(manager, {
              subject: node.kind === 'dept' ? 'dept_delete' : 'group_delete',
              summary: `钉钉同步: 删除${node.kind === 'dept' ? '部门' : '组'} ${node.name}`,
              targetNodeId: node.id,
            });
            summary.writes += 1;
          } else {
            fail(
              key,
              'node_has_local_children',
              `${node.name} is gone from DingTalk but has local child nodes; kept`,
            );
          }
        });
      }
    }
    summary.requests = client.requests - before;
    summary.peak_requests_per_second = client.peakPerSecond;
    return summary;
  }

  private async planUsers(
    upstream: UpstreamDirectory,
    keyToNodeId: Map<string, number>,
    fail: (record: string, code: string, message: string) => void,
  ): Promise<UserPlan[]> {
    const mappings = new Map((await this.mappings.allUsers()).map((m) => [m.dingUserid, m]));
    const mappedUserIds = new Set([...mappings.values()].map((m) => m.userId));
    const existing = new Map(
      (await this.users.findLiveByIds([...mappings.values()].map((m) => m.userId))).map((u) => [u.id, u]),
    );
    const { memberships } = await this.org.snapshot(this.dataSource.manager);
    // Department memberships are the synced ones here; role nodes are handled separately.
    const deptNodeIds = new Set<number>([1]);
    for (const [key, id] of keyToNodeId) if (key.startsWith('dept:')) deptNodeIds.add(id);
    const syncedOf = new Map<number, Set<number>>();
    for (const m of memberships) {
      if (!deptNodeIds.has(m.nodeId)) continue;
      let set = syncedOf.get(m.userId);
      if (!set) syncedOf.set(m.userId, (set = new Set()));
      set.add(m.nodeId);
    }
    const upstreamUsers = [...upstream.users.values()];
    const mobiles = upstreamUsers.map((u) => fieldsOf(u).fields.mobile).filter((m): m is string => !!m);
    const emails = upstreamUsers.map((u) => u.email || u.org_email).filter((e): e is string => !!e);
    const mobileHolders = await this.users.holdersOf('mobile', [...new Set(mobiles)]);
    const emailHolders = await this.users.holdersOf('private_email', [...new Set(emails)]);
    const matchedIds = new Set<number>();
    const plans: UserPlan[] = [];
    const wantedNames: UserPlan[] = [];
    for (const upstreamUser of upstreamUsers) {
      const { fields, problems } = fieldsOf(upstreamUser);
      for (const problem of problems) fail(upstreamUser.userid, 'invalid_field', problem);
      let mapping = mappings.get(upstreamUser.userid) ?? null;
      let user = mapping ? (existing.get(mapping.userId) ?? null) : null;
      if (mapping && !user) mapping = null; // the account was deleted in Arbor: start afresh
      let matchedBy: UserPlan['matchedBy'] = null;
      if (!user) {
        const candidates: [UserPlan['matchedBy'], number | undefined][] = [
          ['mobile', fields.mobile ? mobileHolders.get(fields.mobile) : undefined],
          [
            'email',
            upstreamUser.email || upstreamUser.org_email
              ? emailHolders.get((upstreamUser.email || upstreamUser.org_email) as string)
              : undefined,
          ],
        ];
        for (const [by, id] of candidates) {
          if (id === undefined || mappedUserIds.has(id) || matchedIds.has(id)) continue;
          const [found] = await this.users.findLiveByIds([id]);
          if (found && !found.isAdmin) {
            user = found;
            matchedBy = by;
            matchedIds.add(id);
            break;
          }
        }
      }
      if (fields.mobile) {
        const holder = mobileHolders.get(fields.mobile);
        if (holder !== undefined && holder !== user?.id) {
          fail(
            upstreamUser.userid,
            'mobile_taken',
            `mobile ${fields.mobile} belongs to another Arbor user; not set`,
          );
          delete fields.mobile;
        }
      }
      const wanted = new Set(
        upstreamUser.depts
          .map((d) => (d === DEPT_ROOT_ID ? 1 : keyToNodeId.get(`dept:${d}`)))
          .filter((id): id is number => id !== undefined),
      );
      const current = user ? (syncedOf.get(user.id) ?? new Set<number>()) : new Set<number>();
      const plan: UserPlan = {
        upstream: upstreamUser,
        user,
        mapping,
        matchedBy,
        username: user?.username ?? '',
        fields,
        changes: user ? this.users.importedChanges(user, { username: user.username, ...fields }) : null,
        enable: !!user && !user.isActive && (mapping?.disabledBySync ?? false),
        hash: hashOf([fields, upstreamUser.unionid ?? '', upstreamUser.depts]),
        addTo: [...wanted].filter((id) => !current.has(id)),
        removeFrom: [...current].filter((id) => !wanted.has(id)),
      };
      plans.push(plan);
      if (!user) wantedNames.push(plan);
    }
    await this.allocateUsernames(wantedNames);
    return plans;
  }

  /**
   * Usernames for new accounts from their DingTalk userids; a name already taken (by an account or by
   * an earlier member of this pull) gets a number. Candidates are checked against the database in bulk.
   */
  private async allocateUsernames(plans: UserPlan[]): Promise<void> {
    const bases = plans.map((p) => usernameBase(p.upstream.userid));
    const taken = new Set((await this.users.liveIdsByUsername([...new Set(bases)])).keys());
    const suffixed = (base: string, n: number) => `${base.slice(0, 32 - String(n).length)}${n}`;
    const collided: number[] = [];
    for (const [index, plan] of plans.entries()) {
      if (taken.has(bases[index])) collided.push(index);
      else {
        taken.add(bases[index]);
        plan.username = bases[index];
      }
    }
    if (collided.length === 0) return;
    // Each collision tries base2, base3, …; the first free one (in the database and here) wins.
    const candidates = collided.flatMap((index) =>
      Array.from({ length: 20 }, (_, k) => suffixed(bases[index], k + 2)),
    );
    for (const name of (await this.users.liveIdsByUsername([...new Set(candidates)])).keys()) taken.add(name);
    for (const index of collided) {
      let n = 2;
      while (taken.has(suffixed(bases[index], n))) n++;
      const name = suffixed(bases[index], n);
      if (n > 21 && (await this.users.liveIdsByUsername([name])).size > 0) {
        throw new Error(`no free username for DingTalk member ${plans[index].upstream.userid}`);
      }
      taken.add(name);
      plans[index].username = name;
    }
  }

  /** One batch of user creates and updates, with their mapping rows, memberships and audit entries. */
  private async applyUsers(batch: UserPlan[]): Promise<number> {
    return this.tx.run(async (manager) => {
      let writes = 0;
      const entries: AuditEntryInput[] = [];
      const creates = batch.filter((p) => !p.user);
      if (creates.length > 0) {
        await this.users.insertImported(
          manager,
          creates.map((p) => ({ username: p.username, ...p.fields })),
        );
        const ids = await this.users.liveIdsByUsername(
          creates.map((p) => p.username),
          manager,
        );
        for (const plan of creates) {
          const id = ids.get(plan.username);
          if (id === undefined) throw new Error(`user ${plan.username} vanished inside its own transaction`);
          entries.push({
            subject: 'user_create',
            summary: `钉钉同步: 创建用户 ${plan.username}`,
            targetUserId: id,
          });
          plan.user = { id } as UserEntity;
          writes += 1;
        }
      }
      const mappingRows: DingUserEntity[] = [];
      for (const plan of batch) {
        const user = plan.user as UserEntity;
        const wasCreated = creates.includes(plan);
        if (!wasCreated && (plan.changes || plan.enable)) {
          const changes: Partial<UserEntity> = { ...(plan.changes ?? {}) };
          if (plan.enable) changes.isActive = true;
          await this.users.updateImported(manager, user.id, changes);
          entries.push({
            subject: 'user_update',
            summary: `钉钉同步: ${plan.enable ? '启用' : '修改'}用户 ${plan.username}${plan.matchedBy ? ` (按${plan.matchedBy === 'mobile' ? '手机号' : '邮箱'}匹配)` : ''}`,
            targetUserId: user.id,
          });
          writes += 1;
        }
        if (!plan.mapping || plan.mapping.dataHash !== plan.hash || plan.enable) {
          mappingRows.push(
            Object.assign(new DingUserEntity(), {
              dingUserid: plan.upstream.userid,
              userId: user.id,
              unionid: plan.upstream.unionid ?? '',
              dataHash: plan.hash,
              data: JSON.stringify({ ...plan.fields, dept_id_list: plan.upstream.depts }),
              leftAt: null,
              disabledBySync: false,
            }),
          );
          if (plan.mapping && !plan.changes && !plan.enable) writes += 1;
        }
      }
      await this.mappings.saveUsers(manager, mappingRows);
      // Memberships, grouped by node; the node ids of new users' departments are resolved the same way.
      const byNode = new Map<number, { add: number[]; remove: number[] }>();
      const slot = (nodeId: number) => {
        let entry = byNode.get(nodeId);
        if (!entry) byNode.set(nodeId, (entry = { add: [], remove: [] }));
        return entry;
      };
      for (const plan of batch) {
        const userId = (plan.user as UserEntity).id;
        const add = plan.addTo;
        for (const nodeId of add) slot(nodeId).add.push(userId);
        for (const nodeId of plan.removeFrom) slot(nodeId).remove.push(userId);
        if (!creates.includes(plan) && (add.length > 0 || plan.removeFrom.length > 0)) {
          entries.push({
            subject: 'dept_member',
            summary: `钉钉同步: 调整用户 ${plan.username} 的部门`,
            targetUserId: userId,
          });
          writes += 1;
        }
      }
      for (const [nodeId, { add, remove }] of byNode) {
        if (add.length > 0) await this.memberships.addMembersWithin(manager, nodeId, add);
        await this.memberships.removeMembersWithin(manager, nodeId, remove);
      }
      await this.audit.recordMany(manager, entries);
      return writes;
    });
  }

  private async syncRoleMembers(
    upstream: UpstreamDirectory,
    keyToNodeId: Map<string, number>,
    dryRun: boolean,
  ): Promise<number> {
    const mappings = new Map((await this.mappings.allUsers()).map((m) => [m.dingUserid, m.userId]));
    const { memberships } = await this.org.snapshot(this.dataSource.manager);
    const current = new Map<number, Set<number>>();
    for (const m of memberships) {
      let set = current.get(m.nodeId);
      if (!set) current.set(m.nodeId, (set = new Set()));
      set.add(m.userId);
    }
    const syncedUserIds = new Set(mappings.values());
    let writes = 0;
    const changes: { nodeId: number; add: number[]; remove: number[] }[] = [];
    for (const group of upstream.roleGroups) {
      for (const role of group.roles) {
        const nodeId = keyToNodeId.get(`role:${role.id}`);
        if (nodeId === undefined) continue;
        const wanted = new Set(
          role.members.map((m) => mappings.get(m)).filter((x): x is number => x !== undefined),
        );
        const have = current.get(nodeId) ?? new Set<number>();
        const add = [...wanted].filter((id) => !have.has(id));
        // Only synced users leave a role node this way; local members stay.
        const remove = [...have].filter((id) => syncedUserIds.has(id) && !wanted.has(id));
        if (add.length > 0 || remove.length > 0) changes.push({ nodeId, add, remove });
      }
    }
    if (dryRun || changes.length === 0) return 0;
    await this.tx.run(async (manager) => {
      for (const change of changes) {
        if (change.add.length > 0)
          await this.memberships.addMembersWithin(manager, change.nodeId, change.add);
        await this.memberships.removeMembersWithin(manager, change.nodeId, change.remove);
        writes += 1;
      }
      await this.audit.record(manager, {
        subject: 'group_member',
        summary: `钉钉同步: 调整 ${changes.length} 个角色的成员`,
      });
    });
    return writes;
  }

  /**
   * Users gone from DingTalk. `disable` turns their accounts off (and back on if they return);
   * `delete` does so too and deletes accounts disabled for N days; `ignore` keeps them active but
   * lists every one in the task's errors, so no leaver is ever silently left active.
   */
  private async leavers(
    upstream: UpstreamDirectory,
    policy: 'disable' | 'delete' | 'ignore',
    deleteDays: number,
    dryRun: boolean,
    summary: PullSummary,
    fail: (record: string, code: string, message: string) => void,
  ): Promise<number> {
    const gone = (await this.mappings.allUsers()).filter((m) => !upstream.users.has(m.dingUserid));
    if (gone.length === 0) return 0;
    const accounts = new Map(
      (await this.users.findLiveByIds(gone.map((m) => m.userId))).map((u) => [u.id, u]),
    );
    const now = this.clock.now();
    const disable: { mapping: DingUserEntity; user: UserEntity }[] = [];
    const remove: { mapping: DingUserEntity; user: UserEntity }[] = [];
    const orphans: string[] = [];
    for (const mapping of gone) {
      const user = accounts.get(mapping.userId);
      if (!user) {
        orphans.push(mapping.dingUserid);
        continue;
      }
      if (user.isAdmin) {
        fail(
          mapping.dingUserid,
          'leaver_is_superuser',
          `${user.username} left DingTalk but is a superuser; left active`,
        );
        continue;
      }
      if (policy === 'ignore') {
        if (user.isActive) {
          summary.users.leavers_ignored += 1;
          sample(summary.samples.leavers_ignored, mapping.dingUserid);
          fail(
            mapping.dingUserid,
            'leaver_ignored',
            `${user.username} left DingTalk; leaver policy is ignore, account still active`,
          );
        }
        continue;
      }
      if (user.isActive) {
        disable.push({ mapping, user });
        summary.users.disable += 1;
        sample(summary.samples.disable, mapping.dingUserid);
      }
      const leftAt = mapping.leftAt ?? now;
      if (policy === 'delete' && now.getTime() - leftAt.getTime() >= deleteDays * 86400000) {
        remove.push({ mapping, user });
        summary.users.delete += 1;
        sample(summary.samples.delete, mapping.dingUserid);
      }
    }
    if (dryRun) return 0;
    let writes = 0;
    if (disable.length > 0 || orphans.length > 0) {
      await this.tx.run(async (manager) => {
        const entries: AuditEntryInput[] = [];
        for (const { mapping, user } of disable) {
          await this.users.updateImported(manager, user.id, { isActive: false });
          mapping.leftAt = mapping.leftAt ?? now;
          mapping.disabledBySync = true;
          entries.push({
            subject: 'user_update',
            summary: `钉钉同步: 停用已离职用户 ${user.username}`,
            targetUserId: user.id,
          });
          writes += 1;
        }
        await this.mappings.saveUsers(
          manager,
          disable.map((d) => d.mapping),
        );
        await this.mappings.deleteUsers(manager, orphans);
        await this.audit.recordMany(manager, entries);
      });
    }
    for (const { mapping, user } of remove) {
      await this.users.remove(user.username, { userId: 0, scope: UNRESTRICTED_SCOPE });
      await this.tx.run((manager) => this.mappings.deleteUsers(manager, [mapping.dingUserid]));
      writes += 1;
    }
    return writes;
  }
}
