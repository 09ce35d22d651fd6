import { DomainError, detailError, fieldError } from '../../common/errors/domain-error';

/** Tree operations answer `{"node": [code]}` (contract §1, Errors). */
function treeError(code: string): DomainError {
  return new DomainError(`org.${code}`, 400, { node: [code] });
}

export const OrgErrors = {
  notFound: () => detailError('org.not_found', 404, 'Not found.'),
  nameRequired: () => fieldError('org.name_required', 'name', 'This field is required.'),
  badNodeUidPrefix: () =>
    new DomainError('org.bad_node_uid', 400, { uid: 'this field must start with `d_` or `g_`' }),
  builtinProtected: () =>
    detailError('org.builtin', 405, 'This node is built in: it cannot be renamed, moved or deleted.'),
  uidImmutable: () => fieldError('org.uid_immutable', 'uid', 'this field is immutable'),
  uidTaken: () => fieldError('org.uid_taken', 'uid', 'existed'),
  hasChildren: () => treeError('protected_by_child_node'),
  hasMembers: () => treeError('protected_by_child_user'),
  deadlock: () => treeError('deadlock'),
  acrossScope: () => treeError('across_scope'),
  tooDeep: (max: number) =>
    new DomainError('org.too_deep', 400, { node: [`a tree may be at most ${max} levels deep`] }),
  nodesMissing: (field: string, uids: string[]) =>
    fieldError('org.nodes_missing', field, `${uids.join(', ')} does not exist`),
  notChildren: (field: string, uids: string[]) =>
    fieldError('org.not_children', field, `${uids.join(', ')} invalid: not a child of this node`),
  usersMissing: (field: string, usernames: string[]) =>
    fieldError('org.users_missing', field, `${usernames.join(', ')} does not exist`),
  notMembers: (usernames: string[]) =>
    fieldError('org.not_members', 'user_uids', `${usernames.join(', ')} invalid: not a member of this node`),
  wrongKind: (field: string, expected: string) =>
    fieldError('org.wrong_kind', field, `expected ${expected} uids`),
};
