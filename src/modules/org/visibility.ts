import { NodeVisibility } from './entities/org-node.entity';
import { idsOnPath } from './org-nodes.repository';

/**
 * Employee visibility (contract §4.3) as pure functions. A viewer is described by its direct
 * memberships and every node above them, which is all that "member of N or of a node below N" needs.
 */
export interface Viewer {
  userId: number;
  direct: ReadonlySet<number>;
  /** Direct nodes and all their ancestors: N is in here exactly when the viewer is a member of N or below. */
  directOrBelow: ReadonlySet<number>;
}

export interface VisibilityRule {
  id: number;
  visibility: NodeVisibility;
  /** Visibility 4 lists; ignored otherwise. */
  scopeNodeIds: readonly number[];
  scopeUserIds: readonly number[];
}

export function viewerOf(userId: number, directNodes: readonly { id: number; path: string }[]): Viewer {
  const direct = new Set(directNodes.map((n) => n.id));
  const directOrBelow = new Set(directNodes.flatMap((n) => idsOnPath(n.path)));
  return { userId, direct, directOrBelow };
}

export function isOpenTo(rule: VisibilityRule, viewer: Viewer): boolean {
  switch (rule.visibility) {
    case NodeVisibility.Everyone:
      return true;
    case NodeVisibility.MembersOnly:
      return viewer.direct.has(rule.id);
    case NodeVisibility.MembersAndBelow:
      return viewer.directOrBelow.has(rule.id);
    case NodeVisibility.Listed:
      return (
        rule.scopeUserIds.includes(viewer.userId) ||
        rule.scopeNodeIds.some((scopeNodeId) => viewer.directOrBelow.has(scopeNodeId))
      );
    case NodeVisibility.Nobody:
      return false;
    default:
      return false;
  }
}

export type Shown = 'open' | 'forced';

/**
 * Which nodes of a subtree a viewer sees: open nodes in full, closed nodes that lead to an open one
 * as their reduced ancestor path ("forced visible"), everything else pruned (absent from the map).
 */
export function visibleShape(
  nodes: readonly { id: number; parentId: number | null }[],
  rootId: number,
  isOpen: (id: number) => boolean,
): Map<number, Shown> {
  const parentOf = new Map(nodes.map((n) => [n.id, n.parentId]));
  const shown = new Map<number, Shown>();
  for (const node of nodes) {
    if (!isOpen(node.id)) continue;
    shown.set(node.id, 'open');
    let current = node.id;
    while (current !== rootId) {
      const parent = parentOf.get(current);
      if (parent === undefined || parent === null) break;
      if (shown.has(parent)) break;
      shown.set(parent, 'forced');
      current = parent;
    }
  }
  // A forced ancestor reached before its own open check ran is promoted when it is open itself.
  for (const [id, state] of shown) if (state === 'forced' && isOpen(id)) shown.set(id, 'open');
  return shown;
}
