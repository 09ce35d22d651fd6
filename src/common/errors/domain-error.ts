/**
 * A rule violation with a stable dotted code (`account.username_taken`), an HTTP status and the
 * ArkID/DRF-style body it renders to on /siteapi. Each feature builds its errors in `<feature>.errors.ts`.
 */
export type ErrorBody = Record<string, unknown>;

export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(code);
    this.name = 'DomainError';
  }
}

/** `{"<field>": ["<message>"]}` with status 400. */
export function fieldError(code: string, field: string, message: string): DomainError {
  return new DomainError(code, 400, { [field]: [message] });
}

/** `{"non_field_errors": ["<message>"]}` with status 400. */
export function nonFieldError(code: string, message: string): DomainError {
  return new DomainError(code, 400, { non_field_errors: [message] });
}

export function detailError(
  code: string,
  status: number,
  detail: string,
  headers?: Record<string, string>,
): DomainError {
  return new DomainError(code, status, { detail }, headers);
}

export const CommonErrors = {
  notFound: () => detailError('common.not_found', 404, 'Not found.'),
  invalidPage: () => detailError('common.invalid_page', 404, 'Invalid page.'),
  unauthenticated: (detail = 'Authentication credentials were not provided.') =>
    detailError('auth.unauthenticated', 401, detail),
  forbidden: () => detailError('auth.forbidden', 403, 'You do not have permission to perform this action.'),
  throttled: (retryAfterSeconds: number) =>
    detailError(
      'common.throttled',
      429,
      `Request was throttled. Expected available in ${retryAfterSeconds} seconds.`,
      { 'Retry-After': String(retryAfterSeconds) },
    ),
};
