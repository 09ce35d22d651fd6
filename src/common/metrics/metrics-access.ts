import { createHash, timingSafeEqual } from 'node:crypto';

/** Who may read /metrics: nobody when disabled; with a token, only a matching bearer (constant time). */
export function metricsAccess(
  settings: { enabled: boolean; token?: string },
  authorization: string | undefined,
): 'allowed' | 'disabled' | 'unauthorized' {
  if (!settings.enabled) return 'disabled';
  if (settings.token === undefined) return 'allowed';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return 'unauthorized';
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(match[1]), digest(settings.token)) ? 'allowed' : 'unauthorized';
}
