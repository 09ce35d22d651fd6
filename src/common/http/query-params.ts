import { DomainError } from '../errors/domain-error';

/** A query boolean as ArkID reads it: `true`/`True`/`false`/`False`; absent or empty is the fallback. */
export function queryBool(query: Record<string, unknown>, key: string, fallback = false): boolean {
  const value = query[key];
  if (value === undefined || value === '') return fallback;
  if (value === 'true' || value === 'True') return true;
  if (value === 'false' || value === 'False') return false;
  throw new DomainError('common.validation', 400, { [key]: ['Must be a valid boolean.'] });
}
