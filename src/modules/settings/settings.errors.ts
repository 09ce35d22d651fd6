import { DomainError } from '../../common/errors/domain-error';

export const SettingsErrors = {
  /** A live check of the new settings failed; nothing was saved. */
  probeFailed: (field: string, reason: string) =>
    new DomainError(`settings.${field}_invalid`, 400, { [field]: ['invalid', reason] }),
};
