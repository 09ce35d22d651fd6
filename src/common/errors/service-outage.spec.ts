import { QueryFailedError } from 'typeorm';
import { DomainError } from './domain-error';
import { isServiceOutage } from './service-outage';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isServiceOutage', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED')],
    [
      'a MariaDB that went away',
      withCode('Connection lost: The server closed the connection.', 'PROTOCOL_CONNECTION_LOST'),
    ],
    [
      'a command out of reconnection attempts',
      Object.assign(new Error('Reached the max retries'), { name: 'MaxRetriesPerRequestError' }),
    ],
    ['a closed Redis connection', new Error('Connection is closed.')],
    [
      'a query the driver could not send, as TypeORM wraps it',
      new QueryFailedError('SELECT 1', [], withCode('connect ETIMEDOUT', 'ETIMEDOUT')),
    ],
    ['a cause chained below', new Error('lookup failed', { cause: withCode('reset', 'ECONNRESET') })],
  ])('recognises %s', (_name, error) => {
    expect(isServiceOutage(error)).toBe(true);
  });

  it.each([
    ['a duplicate key', new QueryFailedError('INSERT', [], withCode('Duplicate entry', 'ER_DUP_ENTRY'))],
    ['a rule violation', new DomainError('account.username_taken', 400, {})],
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a thrown string', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('leaves %s alone', (_name, error) => {
    expect(isServiceOutage(error)).toBe(false);
  });

  it('stops following a cause chain that loops', () => {
    const looping = new Error('outer');
    Object.assign(looping, { cause: looping });
    expect(isServiceOutage(looping)).toBe(false);
  });
});
