import { DomainError, fieldError } from '../../common/errors/domain-error';

export const AuditErrors = {
  invalidInteger: (field: string) =>
    fieldError('audit.invalid_filter', field, 'A valid integer is required.'),
  invalidDateTime: (field: string) => fieldError('audit.invalid_filter', field, 'Enter a valid date/time.'),
  invalidText: (field: string) => fieldError('audit.invalid_filter', field, 'Not a valid string.'),
  unknownSubject: (subject: string) =>
    fieldError(
      'audit.invalid_filter',
      'subject',
      `Select a valid choice. ${subject} is not one of the available choices.`,
    ),
  /** The log is append-only through the API. */
  readOnly: (method: string) =>
    new DomainError('audit.read_only', 405, { detail: `Method "${method}" not allowed.` }),
};
