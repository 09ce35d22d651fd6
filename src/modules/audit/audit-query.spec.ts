import { DomainError } from '../../common/errors/domain-error';
import { parseAuditFilter, type FilterClock } from './audit-query';

const clock: FilterClock = {
  now: new Date('2026-03-10T04:00:00Z'),
  localDate: '2026-03-10',
  localOffset: '+08:00',
};

function badRequest(query: Record<string, unknown>): unknown {
  try {
    parseAuditFilter(query, clock);
  } catch (error) {
    if (error instanceof DomainError) return { status: error.status, body: error.body };
    throw error;
  }
  throw new Error('expected a 400');
}

describe('parseAuditFilter', () => {
  it('reads days as local midnight (0) or N×24 h back', () => {
    expect(parseAuditFilter({ days: '0' }, clock).since?.toISOString()).toBe('2026-03-09T16:00:00.000Z');
    expect(parseAuditFilter({ days: '2' }, clock).since?.toISOString()).toBe('2026-03-08T04:00:00.000Z');
  });

  it('reads the time range in ISO-8601, local when no offset is given; the later lower bound wins', () => {
    const f = parseAuditFilter(
      { after_created: '2026-03-01', before_created: '2026-03-05T12:30:00Z', days: '30' },
      clock,
    );
    expect(f.since?.toISOString()).toBe('2026-02-28T16:00:00.000Z');
    expect(f.until?.toISOString()).toBe('2026-03-05T12:30:00.000Z');
    expect(parseAuditFilter({ after_created: '2026-03-01T10:00:00+0000' }, clock).since?.toISOString()).toBe(
      '2026-03-01T10:00:00.000Z',
    );
  });

  it('splits subjects on |, and trims the text filters', () => {
    expect(parseAuditFilter({ subject: 'user_create|dept_move', user: ' ali ', summary: '' }, clock)).toEqual(
      {
        subjects: ['user_create', 'dept_move'],
        user: 'ali',
        until: undefined,
        summary: undefined,
      },
    );
  });

  it.each([
    [{ days: '1.5' }, { days: ['A valid integer is required.'] }],
    [{ days: '-1' }, { days: ['A valid integer is required.'] }],
    [{ days: 'x' }, { days: ['A valid integer is required.'] }],
    [{ after_created: 'yesterday' }, { after_created: ['Enter a valid date/time.'] }],
    [{ before_created: '2026-13-45' }, { before_created: ['Enter a valid date/time.'] }],
    [
      { subject: 'user_create|nope' },
      { subject: ['Select a valid choice. nope is not one of the available choices.'] },
    ],
    [{ user: ['a', 'b'] }, { user: ['Not a valid string.'] }],
  ])('400 for %j', (query, body) => {
    expect(badRequest(query)).toEqual({ status: 400, body });
  });
});
