import { DomainError, detailError, fieldError } from '../../common/errors/domain-error';

export const PermissionErrors = {
  notFound: () => detailError('perm.not_found', 404, 'Not found.'),
  notEditable: (what: string) =>
    detailError('perm.not_editable', 405, `This ${what} is managed by Arbor and cannot be changed here.`),
  appUidTaken: () => fieldError('perm.app_uid_taken', 'uid', 'existed'),
  uidImmutable: () => fieldError('perm.uid_immutable', 'uid', 'this field is immutable'),
  scopeNotFound: () => fieldError('perm.scope_not_found', 'scope', 'not found'),
  permsOutOfScope: (uids: string[]) =>
    fieldError('perm.perms_out_of_scope', 'perm_statuses', `perm:${uids.join(', ')} out of scope`),
  systemPermsMissing: (uids: string[]) =>
    fieldError('perm.system_perms_missing', 'perms', `${uids.join(', ')} not found`),
  appsMissing: (uids: string[]) => fieldError('perm.apps_missing', 'apps', `${uids.join(', ')} not found`),
  /** Under `part` (`oauth_app`, `oidc_app`) in an app body, at the top of an `app/{uid}/oauth/` one. */
  badRedirectUri: (part: 'oauth_app' | 'oidc_app' | null, message: string) =>
    new DomainError(
      'perm.bad_redirect_uri',
      400,
      part === null ? { redirect_uris: [message] } : { [part]: { redirect_uris: [message] } },
    ),
  invalidOwners: (field: string, uids: string[]) =>
    fieldError('perm.invalid_owner', field, `invalid uid: ${uids.map((u) => `\`${u}\``).join(', ')}`),
  permsMissing: (uids: string[]) =>
    fieldError('perm.perms_missing', 'perm_statuses', `perm:${uids.join(', ')} does not exist`),
  badStatus: () => fieldError('perm.bad_status', 'status', 'Must be one of: -1, 0, 1.'),
  badOwnerSubject: () => fieldError('perm.bad_owner_subject', 'owner_subject', 'unknown owner subject'),
  ownerNotFound: (field: string) => fieldError('perm.owner_not_found', field, 'not found'),
  appNotFound: () => new DomainError('perm.app_not_exists', 400, { app_uid: 'not exists' }),
  clientNotFound: () => new DomainError('perm.client_not_exists', 400, { oauth_clien_id: 'not exists' }),
};
