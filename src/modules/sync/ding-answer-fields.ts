import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { UserAnswerHooks } from '../accounts/user-answer.hooks';
import type { OrgNode } from '../org/entities/org-node.entity';
import { OrgNodeHooks } from '../org/org-node.hooks';
import { DingMappingRepository } from './ding-mapping.repository';
import type { DingNodeEntity, DingUserEntity } from './entities/ding.entities';

/** Contract User `ding_user`: the DingTalk userid, its account (the mobile it signs in with), raw data. */
export interface DingUserField {
  uid: string;
  account: string;
  data: string;
}

/** Contract Dept `ding_dept` and Group `ding_group` (DingTalk roles and role groups, under `g_role`). */
export type DingNodeField =
  | { ding_dept: { uid: number; data: string } }
  | { ding_group: { uid: number; data: string; subject: 'role'; is_group: boolean } };

export function dingUserField(row: Pick<DingUserEntity, 'dingUserid' | 'data'>): DingUserField {
  const data = row.data ?? '{}';
  let account = '';
  try {
    const parsed = JSON.parse(data) as { mobile?: unknown };
    if (typeof parsed.mobile === 'string') account = parsed.mobile;
  } catch {
    // Data written by an older release that is not JSON: no account to show.
  }
  return { uid: row.dingUserid, account, data };
}

/** `dept:<id>`, `rolegroup:<id>`, `role:<id>` to the answer field; null for a key of another shape. */
export function dingNodeField(row: Pick<DingNodeEntity, 'dingKey' | 'data'>): DingNodeField | null {
  const match = /^(dept|rolegroup|role):(\d+)$/.exec(row.dingKey);
  if (!match) return null;
  const uid = Number(match[2]);
  const data = row.data ?? '{}';
  if (match[1] === 'dept') return { ding_dept: { uid, data } };
  return { ding_group: { uid, data, subject: 'role', is_group: match[1] === 'rolegroup' } };
}

/**
 * The sync's part of user and node answers: `ding_user` on synced users, `ding_dept` / `ding_group` on
 * synced nodes, read from the mapping tables for a whole answer at once.
 */
@Injectable()
export class DingAnswerFields implements OnModuleInit {
  constructor(
    private readonly mappings: DingMappingRepository,
    private readonly userHooks: UserAnswerHooks,
    private readonly nodeHooks: OrgNodeHooks,
  ) {}

  onModuleInit(): void {
    this.userHooks.extend((ids) => this.ofUsers(ids));
    this.nodeHooks.describeWith((nodes, manager) => this.ofNodes(nodes, manager));
  }

  async ofUsers(userIds: readonly number[]): Promise<Map<number, Record<string, unknown>>> {
    const rows = await this.mappings.usersOfUserIds(userIds);
    return new Map(rows.map((row) => [row.userId, { ding_user: dingUserField(row) }]));
  }

  async ofNodes(
    nodes: readonly OrgNode[],
    manager?: EntityManager,
  ): Promise<Map<number, Record<string, unknown>>> {
    const rows = await this.mappings.nodesOfNodeIds(
      nodes.map((n) => n.id),
      manager,
    );
    const out = new Map<number, Record<string, unknown>>();
    for (const row of rows) {
      const field = dingNodeField(row);
      if (field) out.set(row.nodeId, field);
    }
    return out;
  }
}
