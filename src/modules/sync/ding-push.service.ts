import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { TransactionRunner } from '../../common/database/transaction-runner';
import type { UserEntity } from '../accounts/entities/user.entity';
import { UsersService } from '../accounts/users.service';
import { AuditService } from '../audit/audit.service';
import type { JobContext } from '../jobs/job-registry';
import { OrgService } from '../org/org.service';
import { DingConfigService } from './ding-config.service';
import { DingMappingRepository } from './ding-mapping.repository';
import { DingTalkError } from './dingtalk/dingtalk.errors';
import { fetchDirectory, type UpstreamUser } from './directory-fetch';
import { DingNodeEntity, DingUserEntity } from './entities/ding.entities';
import { fieldsOf } from './ding-pull.service';

const DEPT_ROOT_ID = 1;

export interface PushSummary {
  dry_run: boolean;
  departments: { create: number; update: number; remove: number };
  users: { create: number; update: number; remove: number };
  samples: Record<string, string[]>;
  requests: number;
  peak_requests_per_second: number;
}

interface DesiredUser {
  user: UserEntity;
  deptIds: number[];
}

/**
 * Push (override): makes the DingTalk directory match Arbor's departments and their members. It
 * reads DingTalk first, so the dry run shows exactly what would be created, updated and removed;
 * every DingTalk write is mapped and audited as it happens, and a record DingTalk refuses (a missing
 * mobile, a taken one) goes to the task's error list while the rest carries on.
 */
@Injectable()
export class DingPushService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly dingConfig: DingConfigService,
    private readonly mappings: DingMappingRepository,
    private readonly org: OrgService,
    private readonly users: UsersService,
    private readonly audit: AuditService,
    private readonly tx: TransactionRunner,
  ) {}

  async run(
    context: Pick<JobContext, 'signal' | 'progress' | 'recordError'>,
    dryRun: boolean,
  ): Promise<PushSummary> {
    const client = await this.dingConfig.client();
    const before = client.requests;
    client.resetPeak();
    const upstream = await fetchDirectory(client, context, { roles: false });
    const summary: PushSummary = {
      dry_run: dryRun,
      departments: { create: 0, update: 0, remove: 0 },
      users: { create: 0, update: 0, remove: 0 },
      samples: { create: [], update: [], remove: [] },
      requests: 0,
      peak_requests_per_second: 0,
    };
    const fail = (record: string, error: unknown) =>
      context.recordError({
        record,
        code: error instanceof DingTalkError ? String(error.errcode) : 'error',
        message: error instanceof Error ? error.message : String(error),
      });
    const note = (kind: string, what: string) => {
      const list = summary.samples[kind];
      if (list.length < 50) list.push(what);
    };

    // ---- departments ----
    const { nodes, memberships } = await this.org.snapshot(this.dataSource.manager);
    const depts = nodes
      .filter((n) => n.kind === 'dept' && n.id !== 1)
      .sort((a, b) => a.depth - b.depth || a.orderNo - b.orderNo);
    const nodeMaps = await this.mappings.allNodes();
    const dingOfNode = new Map<number, number>();
    for (const m of nodeMaps)
      if (m.dingKey.startsWith('dept:')) dingOfNode.set(m.nodeId, Number(m.dingKey.slice(5)));
    dingOfNode.set(1, DEPT_ROOT_ID);
    const upstreamDepts = new Map(upstream.depts.map((d) => [d.id, d]));
    const keptDingIds = new Set<number>([DEPT_ROOT_ID]);
    for (const node of depts) {
      if (context.signal.aborted) throw context.signal.reason;
      const parentDing = node.parentId === null ? DEPT_ROOT_ID : dingOfNode.get(node.parentId);
      if (parentDing === undefined) {
        fail(`d_${node.uid}`, new Error('its parent department is not in DingTalk'));
        continue;
      }
      const mapped = dingOfNode.get(node.id);
      const current = mapped !== undefined ? upstreamDepts.get(mapped) : undefined;
      if (mapped !== undefined && current) {
        keptDingIds.add(mapped);
        if (current.name === node.name && current.parentId === parentDing) continue;
        summary.departments.update += 1;
        note('update', `d_${node.uid}`);
        if (dryRun) continue;
        try {
          await client.updateDepartment({ dept_id: mapped, name: node.name, parent_id: parentDing });
          await this.record(`推送到钉钉: 修改部门 ${node.name}`, { targetNodeId: node.id });
        } catch (error) {
          fail(`d_${node.uid}`, error);
        }
        continue;
      }
      summary.departments.create += 1;
      note('create', `d_${node.uid}`);
      if (dryRun) {
        dingOfNode.set(node.id, -node.id);
        continue;
      }
      try {
        const deptId = await client.createDepartment({
          name: node.name,
          parent_id: parentDing,
          order: node.orderNo,
        });
        dingOfNode.set(node.id, deptId);
        keptDingIds.add(deptId);
        await this.tx.run(async (manager) => {
          await this.mappings.deleteNode(manager, `dept:${mapped ?? deptId}`);
          await this.mappings.saveNode(
            manager,
            Object.assign(new DingNodeEntity(), {
              dingKey: `dept:${deptId}`,
              nodeId: node.id,
              dataHash: '',
              data: null,
            }),
          );
          await this.audit.record(manager, {
            subject: 'sync_ding_push',
            summary: `推送到钉钉: 创建部门 ${node.name}`,
            targetNodeId: node.id,
          });
        });
      } catch (error) {
        fail(`d_${node.uid}`, error);
      }
    }

    // ---- users ----
    const deptNodeIds = new Set(depts.map((d) => d.id).concat(1));
    const deptsOfUser = new Map<number, number[]>();
    for (const m of memberships) {
      if (!deptNodeIds.has(m.nodeId)) continue;
      const ding = dingOfNode.get(m.nodeId);
      if (ding === undefined) continue;
      const list = deptsOfUser.get(m.userId) ?? [];
      list.push(ding);
      deptsOfUser.set(m.userId, list);
    }
    const accounts = await this.users.findLiveByIds([...deptsOfUser.keys()]);
    const desired = new Map<number, DesiredUser>();
    for (const user of accounts) {
      if (!user.isActive || user.isAdmin) continue;
      desired.set(user.id, {
        user,
        deptIds: [...new Set(deptsOfUser.get(user.id) ?? [])].sort((a, b) => a - b),
      });
    }
    const userMaps = await this.mappings.allUsers();
    const dingOfUser = new Map(userMaps.map((m) => [m.userId, m.dingUserid]));
    const keptUserids = new Set<string>();
    for (const { user, deptIds } of desired.values()) {
      if (context.signal.aborted) throw context.signal.reason;
      const userid = dingOfUser.get(user.id);
      const current = userid !== undefined ? upstream.users.get(userid) : undefined;
      const fields = {
        name: user.name || user.username,
        ...(user.mobile ? { mobile: user.mobile } : {}),
        ...(user.email ? { org_email: user.email } : {}),
        title: user.position,
        job_number: user.employeeNumber,
        dept_id_list: deptIds.join(','),
      };
      if (userid !== undefined && current) {
        keptUserids.add(userid);
        if (!differs(current, user, deptIds)) continue;
        summary.users.update += 1;
        note('update', user.username);
        if (dryRun) continue;
        try {
          await client.updateUser({ userid, ...fields });
          await this.record(`推送到钉钉: 修改用户 ${user.username}`, { targetUserId: user.id });
        } catch (error) {
          fail(user.username, error);
        }
        continue;
      }
      summary.users.create += 1;
      note('create', user.username);
      if (dryRun) continue;
      if (!user.mobile) {
        fail(user.username, new Error('DingTalk needs a mobile number to create a member'));
        continue;
      }
      try {
        const created = await client.createUser(fields);
        keptUserids.add(created);
        await this.tx.run(async (manager) => {
          if (userid !== undefined) await this.mappings.deleteUsers(manager, [userid]);
          await this.mappings.saveUsers(manager, [
            Object.assign(new DingUserEntity(), {
              dingUserid: created,
              userId: user.id,
              unionid: '',
              dataHash: '',
              data: null,
              leftAt: null,
              disabledBySync: false,
            }),
          ]);
          await this.audit.record(manager, {
            subject: 'sync_ding_push',
            summary: `推送到钉钉: 创建用户 ${user.username}`,
            targetUserId: user.id,
          });
        });
      } catch (error) {
        fail(user.username, error);
      }
    }
    for (const userid of upstream.users.keys()) {
      if (keptUserids.has(userid)) continue;
      summary.users.remove += 1;
      note('remove', userid);
      if (dryRun) continue;
      try {
        await client.deleteUser(userid);
        await this.tx.run(async (manager) => {
          await this.mappings.deleteUsers(manager, [userid]);
          await this.audit.record(manager, {
            subject: 'sync_ding_push',
            summary: `推送到钉钉: 删除用户 ${userid}`,
          });
        });
      } catch (error) {
        fail(userid, error);
      }
    }
    // Departments DingTalk has and Arbor does not, deepest first (DingTalk refuses non-empty ones).
    const removable = [...upstream.depts].reverse().filter((d) => !keptDingIds.has(d.id));
    for (const dept of removable) {
      summary.departments.remove += 1;
      note('remove', `dept:${dept.id}`);
      if (dryRun) continue;
      try {
        await client.deleteDepartment(dept.id);
        await this.tx.run(async (manager) => {
          await this.mappings.deleteNode(manager, `dept:${dept.id}`);
          await this.audit.record(manager, {
            subject: 'sync_ding_push',
            summary: `推送到钉钉: 删除部门 ${dept.name}`,
          });
        });
      } catch (error) {
        fail(`dept:${dept.id}`, error);
      }
    }
    summary.requests = client.requests - before;
    summary.peak_requests_per_second = client.peakPerSecond;
    return summary;
  }

  private async record(
    summary: string,
    target: { targetUserId?: number; targetNodeId?: number },
  ): Promise<void> {
    await this.tx.run((manager) =>
      this.audit.record(manager, { subject: 'sync_ding_push', summary, ...target }),
    );
  }
}

function differs(current: UpstreamUser, user: UserEntity, deptIds: number[]): boolean {
  const { fields } = fieldsOf(current);
  const upstreamDepts = [...new Set(current.dept_id_list ?? current.depts)].sort((a, b) => a - b);
  return (
    fields.name !== (user.name || user.username) ||
    (user.mobile ?? undefined) !== fields.mobile ||
    (user.email !== '' && user.email !== fields.email) ||
    (fields.position ?? '') !== user.position ||
    (fields.employee_number ?? '') !== user.employeeNumber ||
    upstreamDepts.join(',') !== deptIds.join(',')
  );
}
