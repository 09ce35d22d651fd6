/** Sibling order and traversal of tree rows, as pure functions. */

/** Children of each node in sibling order (order_no, then id). */
export function childrenIndex<T extends { id: number; parentId: number | null; orderNo: number }>(
  nodes: readonly T[],
): Map<number, T[]> {
  const index = new Map<number, T[]>();
  for (const node of nodes) {
    if (node.parentId === null) continue;
    (index.get(node.parentId) ?? index.set(node.parentId, []).get(node.parentId))?.push(node);
  }
  for (const siblings of index.values()) siblings.sort((a, b) => a.orderNo - b.orderNo || a.id - b.id);
  return index;
}

/** The subtree under `rootId` in pre-order, siblings in their order; iterative so depth cannot overflow. */
export function preOrder<T extends { id: number; parentId: number | null; orderNo: number }>(
  nodes: readonly T[],
  rootId: number,
): T[] {
  const index = childrenIndex(nodes);
  const root = nodes.find((n) => n.id === rootId);
  if (!root) return [];
  const out: T[] = [];
  const stack: T[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as T;
    out.push(node);
    const children = index.get(node.id) ?? [];
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return out;
}

/**
 * Contract §4.6: the listed items take the listed items' current order numbers, sorted ascending, in
 * list order; everything else keeps its place. Returns only the items whose number changes.
 */
export function reorder(listed: { id: number; orderNo: number }[]): Map<number, number> {
  const slots = listed.map((item) => item.orderNo).sort((a, b) => a - b);
  const changes = new Map<number, number>();
  listed.forEach((item, i) => {
    if (item.orderNo !== slots[i]) changes.set(item.id, slots[i]);
  });
  return changes;
}
