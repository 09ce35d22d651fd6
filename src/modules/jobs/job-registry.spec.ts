import { backoffDelayMs, type JobDefinition, type JobProcessor, JobRegistry } from './job-registry';
import { statusOf } from './tasks.service';
import { isValidCron, nextCronRun } from '../../common/time/cron';

const def = (name: string): JobDefinition => ({ name, attempts: 3, backoffMs: 1000, lockKey: name });
const handler: JobProcessor = { run: () => Promise.resolve(null) };
const registry = () => new JobRegistry(undefined as never, undefined as never);

describe('JobRegistry', () => {
  it('maps each declared job to its one handler', () => {
    const r = registry();
    r.build(
      [def('a'), def('b')],
      [
        { name: 'a', handler },
        { name: 'b', handler },
      ],
    );
    expect(r.handler('a')).toBe(handler);
    expect(r.definition('b').attempts).toBe(3);
    expect(r.names()).toEqual(['a', 'b']);
  });

  it('refuses to start with a job that has no handler, two handlers, or a handler for nothing', () => {
    expect(() => registry().build([def('a')], [])).toThrow('job "a" has no handler');
    expect(() =>
      registry().build(
        [def('a')],
        [
          { name: 'a', handler },
          { name: 'a', handler },
        ],
      ),
    ).toThrow('job "a" has 2 handlers');
    expect(() => registry().build([], [{ name: 'x', handler }])).toThrow('handler for undeclared job "x"');
    expect(() => registry().build([def('a'), def('a')], [{ name: 'a', handler }])).toThrow('declared twice');
  });

  it('backs off exponentially', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelayMs({ backoffMs: 500 }, n))).toEqual([500, 1000, 2000, 4000]);
  });
});

describe('task status (contract TaskResult)', () => {
  it('groups raw states, and reads an unknown state as waiting instead of failing (D32)', () => {
    expect(
      ['PENDING', 'RETRY', 'STARTED', 'SUCCESS', 'FAILURE', 'REVOKED', 'SOMETHING'].map(
        (s) => statusOf(s).status,
      ),
    ).toEqual([1, 1, 2, 4, 3, 3, 1]);
  });
});

describe('cron schedules', () => {
  it('accepts standard five-field cron only (D30: minute hour day-of-month month day-of-week)', () => {
    expect(isValidCron('0 3 * * 1')).toBe(true);
    expect(isValidCron('*/15 * * * *')).toBe(true);
    expect(isValidCron('0 3 * *')).toBe(false);
    expect(isValidCron('0 0 3 * * 1')).toBe(false);
    expect(isValidCron('61 * * * *')).toBe(false);
  });

  it('computes the next run in the configured time zone', () => {
    // 2026-01-05 is a Monday; 03:00 Shanghai is 19:00 UTC the day before.
    const next = nextCronRun('0 3 * * 1', new Date('2026-01-01T00:00:00Z'), 'Asia/Shanghai');
    expect(next.toISOString()).toBe('2026-01-04T19:00:00.000Z');
  });
});
