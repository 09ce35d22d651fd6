import { DateTimeFormatter } from './date-time.formatter';
import type { AppConfig } from '../../config/app-config';

const formatterIn = (timeZone: string) => new DateTimeFormatter({ timeZone } as AppConfig);

describe('DateTimeFormatter', () => {
  it('renders Asia/Shanghai with a +08:00 offset', () => {
    expect(formatterIn('Asia/Shanghai').format(new Date('2026-01-02T20:30:05.123Z'))).toBe(
      '2026-01-03T04:30:05+08:00',
    );
  });

  it('follows daylight saving in zones that have it', () => {
    const f = formatterIn('Europe/Berlin');
    expect(f.format(new Date('2026-07-01T12:00:00Z'))).toBe('2026-07-01T14:00:00+02:00');
    expect(f.format(new Date('2026-01-01T12:00:00Z'))).toBe('2026-01-01T13:00:00+01:00');
  });

  it('passes null through', () => {
    expect(formatterIn('UTC').format(null)).toBeNull();
  });
});
