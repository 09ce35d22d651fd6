import { DomainError, detailError, fieldError } from '../../common/errors/domain-error';

export const LifecycleErrors = {
  invalid: (field: string) => fieldError(`lifecycle.${field}_invalid`, field, 'invalid'),
  expired: (field: string) => fieldError(`lifecycle.${field}_expired`, field, 'expired'),
  required: (field: string) => fieldError(`lifecycle.${field}_required`, field, 'required'),
  unsupported: (field: 'mobile' | 'email') =>
    fieldError(`lifecycle.${field}_unsupported`, field, 'unsupported'),
  tooManyAttempts: () =>
    new DomainError('lifecycle.code_attempts', 400, {
      code: ['invalid', 'Too many wrong attempts: request a new code.'],
    }),
  cooldown: (seconds: number) =>
    detailError('lifecycle.cooldown', 429, `A code was sent moments ago. Try again in ${seconds} seconds.`, {
      'Retry-After': String(seconds),
    }),
  hourlyCap: (seconds: number) =>
    detailError('lifecycle.hourly_cap', 429, `Too many codes requested. Try again in ${seconds} seconds.`, {
      'Retry-After': String(seconds),
    }),
  registrationClosed: () => detailError('lifecycle.registration_closed', 403, 'Registration is closed.'),
  onlyUnsettled: () => detailError('lifecycle.settled', 401, 'only for unsettled user'),
  inviteeSettled: () => fieldError('lifecycle.invitee_settled', 'invitee', 'has been settled'),
  captchaInvalid: () => fieldError('lifecycle.captcha_invalid', 'captcha', 'invalid'),
  notValidAdmin: () => fieldError('lifecycle.not_admin', 'non_field_errors', 'not valid admin'),
};
