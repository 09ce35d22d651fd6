import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import { logRedisOutages } from './outage-log';

function capturedLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const written: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, sink),
    lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

describe('logRedisOutages', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-02T08:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('logs an outage once, again each minute it lasts, and its end once', () => {
    const { logger, lines } = capturedLogger();
    const connection = new EventEmitter();
    logRedisOutages(connection, logger, 'rate limits');
    for (let attempt = 0; attempt < 20; attempt++) {
      connection.emit('error', refused());
      jest.advanceTimersByTime(200);
    }
    expect(lines().map((line) => line.msg)).toEqual(['Redis unreachable; reconnecting']);
    expect(lines()[0]).toMatchObject({
      level: 40,
      redis: 'rate limits',
      err: 'connect ECONNREFUSED 127.0.0.1:6379',
    });

    jest.advanceTimersByTime(60_000);
    connection.emit('error', refused());
    connection.emit('ready');
    connection.emit('ready');
    expect(lines().map((line) => [line.msg, line.down_ms])).toEqual([
      ['Redis unreachable; reconnecting', 0],
      ['Redis unreachable; reconnecting', 64_000],
      ['Redis reachable again', 64_000],
    ]);

    // The next outage is news again.
    connection.emit('error', refused());
    expect(lines()).toHaveLength(4);
  });

  it('logs an error that is not an outage every time, as an error', () => {
    const { logger, lines } = capturedLogger();
    const connection = new EventEmitter();
    logRedisOutages(connection, logger, 'OAuth provider state');
    connection.emit('error', new Error('ERR unknown command'));
    connection.emit('error', new Error('ERR unknown command'));
    expect(lines().map((line) => [line.level, line.msg])).toEqual([
      [50, 'Redis client error'],
      [50, 'Redis client error'],
    ]);
  });
});
