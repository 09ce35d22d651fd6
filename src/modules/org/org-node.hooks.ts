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

/**
 * Lets rooms above org (permissions, admin scope) drop what points at a node inside the transaction
 * that deletes it, and extend nodes, without org depending on them.
 */
@Injectable()
export class OrgNodeHooks {
  private readonly removed: NodeHook[] = [];
  private extension: NodeExtension | null = null;

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

  get extended(): NodeExtension {
    if (!this.extension) throw new Error('the admin-scope room is not loaded');
    return this.extension;
  }
}
