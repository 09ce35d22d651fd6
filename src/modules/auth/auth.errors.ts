import { CommonErrors, DomainError, detailError, nonFieldError } from '../../common/errors/domain-error';

export const AuthErrors = {
  /** The same body for an unknown account and a wrong password. */
  badCredentials: () => nonFieldError('auth.bad_credentials', 'Unable to log in with provided credentials.'),
  missingCredentials: () =>
    nonFieldError(
      'auth.missing_credentials',
      'Must include "username", "private_email" or "mobile", and "password".',
    ),
  accountDisabled: () => nonFieldError('auth.account_disabled', 'User account is disabled.'),
  locked: (retryAfterSeconds: number) =>
    detailError(
      'auth.locked',
      429,
      `Too many failed login attempts. Try again in ${retryAfterSeconds} seconds.`,
      { 'Retry-After': String(retryAfterSeconds) },
    ),
  throttled: (retryAfterSeconds: number) => CommonErrors.throttled(retryAfterSeconds),
  invalidToken: () => detailError('auth.invalid_token', 401, 'Invalid token.'),
  invalidHeader: () =>
    detailError('auth.invalid_header', 401, 'Invalid token header. Expected "Token <key>".'),
  expiredToken: () => detailError('auth.expired_token', 401, 'Token has expired.'),
  inactiveUser: () => detailError('auth.inactive_user', 401, 'User inactive or deleted.'),
  notProvided: () => CommonErrors.unauthenticated(),
  forbidden: () => CommonErrors.forbidden(),
  /** An app's access token is read-only and needs the `arbor.read` scope. */
  insufficientScope: () =>
    detailError(
      'auth.insufficient_scope',
      403,
      'This access token does not allow this request (read-only scope).',
    ),
  /** `auth/token/?perm_uid=` not held: 403 with the same UserWithPerm body as a grant. */
  permissionDenied: (body: object) => new DomainError('auth.perm_denied', 403, { ...body }),
};
