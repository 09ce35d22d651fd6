import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export type NodeHook = (manager: EntityManager, nodeId: number) => Promise<void>;

/**
 * Lets rooms above org (permissions, later admin scope) drop what points at a node inside the
 * transaction that deletes it, without org depending on them.
 */
@Injectable()
export class OrgNodeHooks {
  private readonly removed: NodeHook[] = [];

  onRemoved(hook: NodeHook): void {
    this.removed.push(hook);
  }

  async remove(manager: EntityManager, nodeId: number): Promise<void> {
    for (const hook of this.removed) await hook(manager, nodeId);
  }
}
