import { DomainError, detailError, fieldError, nonFieldError } from '../../common/errors/domain-error';

export const AccountErrors = {
  notFound: () => detailError('account.not_found', 404, 'Not found.'),
  existed: (field: 'username' | 'private_email' | 'mobile') =>
    fieldError(`account.${field}_taken`, field, 'existed'),
  usernameImmutable: () => fieldError('account.username_immutable', 'username', 'this field is immutable'),
  weakPassword: (messages: string[], field = 'password') =>
    new DomainError('account.weak_password', 400, { [field]: messages }),
  cannotRemoveSelf: () =>
    nonFieldError('account.cannot_remove_self', 'You cannot delete or disable your own account.'),
  nodesDoNotExist: (field: string, uids: string[]) =>
    fieldError('account.nodes_missing', field, `${uids.join(', ')} does not exist`),
};
