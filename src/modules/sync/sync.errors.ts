import { DomainError, fieldError, nonFieldError } from '../../common/errors/domain-error';

export const SyncErrors = {
  notConfigured: () =>
    nonFieldError('sync.ding_not_configured', 'DingTalk app_key and app_secret are not configured'),
  badCron: (field: string) =>
    fieldError(
      'sync.bad_cron',
      field,
      'Enter a 5-field cron expression: minute hour day-of-month month day-of-week.',
    ),
  codeRequired: () => fieldError('sync.code_required', 'code', 'This field is required.'),
  codeInvalid: () => fieldError('sync.code_invalid', 'code', 'invalid'),
  notRegistered: () => nonFieldError('sync.ding_not_registered', 'the DingTalk account is not registered'),
  qrNotAllowed: () => new DomainError('sync.ding_qr_not_allowed', 403, { err_msg: 'ding qr not allowed' }),
  dingBusy: () =>
    new DomainError('sync.ding_busy', 503, { err_msg: 'DingTalk is busy, try again in a moment' }),
  dingTimeout: () => new DomainError('sync.ding_timeout', 408, { err_msg: 'get dingding user time out' }),
};
