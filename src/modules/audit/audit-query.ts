import { AuditErrors } from './audit.errors';
import { isAuditSubject } from './audit-subjects';

/** The `log/` filters, checked: every bad value is a 400 naming its parameter. */
export interface AuditFilter {
  /** created >= since */
  since?: Date;
  /** created < until */
  until?: Date;
  subjects?: string[];
  /** icontains on the actor's username or name */
  user?: string;
  /** icontains on the summary */
  summary?: string;
}

const DAY_MS = 24 * 3600 * 1000;
const MAX_TEXT = 100;
const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?(Z|[+-]\d{2}:?\d{2})?$/;

export interface FilterClock {
  now: Date;
  /** `YYYY-MM-DD` and `+08:00` of `now` in the server's time zone. */
  localDate: string;
  localOffset: string;
}

function text(query: Record<string, unknown>, key: string): string | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw AuditErrors.invalidText(key);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed.slice(0, MAX_TEXT);
}

/** An ISO-8601 date or datetime; without an offset it is read in the server's time zone. */
function dateTime(query: Record<string, unknown>, key: string, clock: FilterClock): Date | undefined {
  const raw = text(query, key);
  if (raw === undefined) return undefined;
  const match = ISO.exec(raw);
  if (!match) throw AuditErrors.invalidDateTime(key);
  const [, date, time = '00:00', zone = clock.localOffset] = match;
  const parsed = new Date(
    `${date}T${time.length === 5 ? `${time}:00` : time}${zone === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}`,
  );
  if (Number.isNaN(parsed.getTime())) throw AuditErrors.invalidDateTime(key);
  return parsed;
}

export function parseAuditFilter(query: Record<string, unknown>, clock: FilterClock): AuditFilter {
  const filter: AuditFilter = {};
  const days = text(query, 'days');
  if (days !== undefined) {
    if (!/^\d{1,5}$/.test(days)) throw AuditErrors.invalidInteger('days');
    // 0 = since local midnight; N = the last N×24 hours (contract §3.9).
    filter.since =
      Number(days) === 0
        ? new Date(`${clock.localDate}T00:00:00${clock.localOffset}`)
        : new Date(clock.now.getTime() - Number(days) * DAY_MS);
  }
  const after = dateTime(query, 'after_created', clock);
  if (after && (!filter.since || after > filter.since)) filter.since = after;
  filter.until = dateTime(query, 'before_created', clock);
  const subject = text(query, 'subject');
  if (subject !== undefined) {
    const subjects = [
      ...new Set(
        subject
          .split('|')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ];
    for (const s of subjects) if (!isAuditSubject(s)) throw AuditErrors.unknownSubject(s);
    if (subjects.length > 0) filter.subjects = subjects;
  }
  filter.user = text(query, 'user');
  filter.summary = text(query, 'summary');
  return filter;
}
