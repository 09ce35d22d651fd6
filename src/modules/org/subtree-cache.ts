import { Injectable } from '@nestjs/common';
import { ChangeStamps } from '../../common/database/change-stamps';
import type { OrgNode } from './entities/org-node.entity';
import { OrgNodesRepository } from './org-nodes.repository';

const MAX_ENTRIES = 64;

/**
 * Recently read subtrees, valid for one version of the org change stamp: any committed org write moves
 * the stamp, so the next read on any replica reloads. The stamp is read before the rows, so an entry
 * can only be newer than its version, never older. Entries are shared: callers must not modify them.
 */
@Injectable()
export class SubtreeCache {
  private readonly entries = new Map<string, readonly OrgNode[]>();

  constructor(
    private readonly nodes: OrgNodesRepository,
    private readonly stamps: ChangeStamps,
  ) {}

  async subtree(root: { path: string }): Promise<readonly OrgNode[]> {
    const version = (await this.stamps.current(['org'])).get('org') ?? 0;
    const key = `${version}:${root.path}`;
    const cached = this.entries.get(key);
    if (cached) {
      // Refresh its place in the least-recently-used order.
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    const loaded = await this.nodes.subtree(root);
    this.entries.set(key, loaded);
    for (const stale of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES) break;
      this.entries.delete(stale);
    }
    return loaded;
  }
}
