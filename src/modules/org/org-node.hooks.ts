import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ManagerGroupInputDto } from './dto/node-input.dto';
import type { OrgNode } from './entities/org-node.entity';

export type NodeHook = (manager: EntityManager, nodeId: number) => Promise<void>;

/**
 * What the admin-scope room adds to nodes: the `manager_group` of sub-admin groups and the automatic
 * sub-admin group of a new category. Org calls it inside its own transactions.
 */
export interface NodeExtension {
  /** Whether the node is a sub-admin group (a child of `g_manager`). */
  isManagerGroup(node: OrgNode): boolean;
  /** Stores a sub-admin group's settings; 400 for unknown nodes, users, apps or perms. */
  writeManagerGroup(
    manager: EntityManager,
    node: OrgNode,
    input: ManagerGroupInputDto | undefined,
    created: boolean,
  ): Promise<void>;
  /** `manager_group` (and members) of sub-admin groups among `nodes`, for details and lists. */
  describe(nodes: readonly OrgNode[], manager?: EntityManager): Promise<Map<number, Record<string, unknown>>>;
  /** After a category is created: its creator's sub-admin group over it. */
  categoryCreated(manager: EntityManager, category: OrgNode, creatorUserId: number): Promise<void>;
}

/** Fields a room adds to node answers (the sync's `ding_dept` / `ding_group`), for many nodes at once. */
export type NodeDescriber = (
  nodes: readonly OrgNode[],
  manager?: EntityManager,
) => Promise<Map<number, Record<string, unknown>>>;

/**
 * Lets rooms above org (permissions, admin scope, sync) drop what points at a node inside the
 * transaction that deletes it, and extend nodes, without org depending on them.
 */
@Injectable()
export class OrgNodeHooks {
  private readonly removed: NodeHook[] = [];
  private extension: NodeExtension | null = null;
  private readonly describers: NodeDescriber[] = [];

  onRemoved(hook: NodeHook): void {
    this.removed.push(hook);
  }

  async remove(manager: EntityManager, nodeId: number): Promise<void> {
    for (const hook of this.removed) await hook(manager, nodeId);
  }

  extend(extension: NodeExtension): void {
    if (this.extension) throw new Error('nodes are already extended');
    this.extension = extension;
  }

  /** Adds fields to node answers; asked once per answer with all its nodes (no query per node). */
  describeWith(describer: NodeDescriber): void {
    this.describers.push(describer);
  }

  /** Every room's fields for `nodes`: the admin-scope extension's (sub-admin groups), then the others'. */
  async describe(
    nodes: readonly OrgNode[],
    manager?: EntityManager,
  ): Promise<Map<number, Record<string, unknown>>> {
    if (nodes.length === 0) return new Map();
    const [extended, described] = await Promise.all([
      this.extended.describe(nodes, manager),
      this.describedFields(nodes, manager),
    ]);
    return merged([extended, described]);
  }

  /**
   * Only the describers' fields (`ding_dept`, `ding_group`): one query each for any number of nodes, so
   * lists and trees carry them too (they never carried the sub-admin groups' settings and members).
   */
  async describedFields(
    nodes: readonly OrgNode[],
    manager?: EntityManager,
  ): Promise<Map<number, Record<string, unknown>>> {
    if (nodes.length === 0 || this.describers.length === 0) return new Map();
    return merged(await Promise.all(this.describers.map((describer) => describer(nodes, manager))));
  }

  get extended(): NodeExtension {
    if (!this.extension) throw new Error('the admin-scope room is not loaded');
    return this.extension;
  }
}

function merged(maps: Map<number, Record<string, unknown>>[]): Map<number, Record<string, unknown>> {
  const out = new Map<number, Record<string, unknown>>();
  for (const map of maps) for (const [id, fields] of map) out.set(id, { ...out.get(id), ...fields });
  return out;
}
