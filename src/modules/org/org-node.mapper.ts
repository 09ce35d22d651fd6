import type { OrgNode } from './entities/org-node.entity';
import { nodeUidOf } from './node-uid';

/** DeptLite / GroupLite (contract §2): a group's `node_subject` is its category, a dept's is `dept`. */
export function toNodeLite(node: OrgNode): Record<string, unknown> {
  const base = {
    node_uid: nodeUidOf(node),
    node_subject: node.kind === 'dept' ? 'dept' : node.top,
    uid: node.uid,
    name: node.name,
    remark: node.remark,
  };
  return node.kind === 'dept'
    ? { dept_id: node.id, ...base }
    : { group_id: node.id, ...base, accept_user: node.acceptUser };
}

/** What a tree shows of a node the viewer may not open but must pass through. */
export function toNodeReduced(node: OrgNode): Record<string, unknown> {
  return {
    [node.kind === 'dept' ? 'dept_id' : 'group_id']: node.id,
    node_uid: nodeUidOf(node),
    node_subject: node.kind === 'dept' ? 'dept' : node.top,
    uid: node.uid,
    name: node.name,
  };
}

export function parentFields(parent: OrgNode | null): Record<string, unknown> {
  return {
    parent_uid: parent?.uid ?? null,
    parent_node_uid: parent ? nodeUidOf(parent) : null,
    parent_name: parent?.name ?? null,
  };
}

/** Detail = node + parent + visibility; the scope lists are empty unless visibility is 4. */
export function toNodeDetail(
  node: OrgNode,
  parent: OrgNode | null,
  scope: { nodeUids: string[]; usernames: string[] },
): Record<string, unknown> {
  return {
    ...toNodeLite(node),
    ...parentFields(parent),
    visibility: node.visibility,
    node_scope: scope.nodeUids,
    user_scope: scope.usernames,
  };
}
