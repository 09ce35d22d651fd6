import { retryWhenThrottled } from './dingtalk.client';
import { DingTalkError } from './dingtalk.errors';

describe('retryWhenThrottled', () => {
  const waits: number[] = [];
  const sleep = (ms: number): Promise<void> => {
    waits.push(ms);
    return Promise.resolve();
  };
  beforeEach(() => (waits.length = 0));

  it('waits out old- and new-API throttling and returns the answer', async () => {
    const answers: unknown[] = [
      new DingTalkError('sns/getuserinfo_bycode', 90018, 'busy'),
      new DingTalkError('v1.0/oauth2/userAccessToken', 'Forbidden.AccessDenied.QpsLimitForApi', 'busy'),
      'union-1',
    ];
    const exchange = (): Promise<string> => {
      const next = answers.shift();
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next as string);
    };
    await expect(retryWhenThrottled(exchange, 3, sleep)).resolves.toBe('union-1');
    expect(waits).toEqual([1000, 2000]);
  });

  it('gives up after the last attempt and never retries other errors', async () => {
    const busy = new DingTalkError('sns/getuserinfo_bycode', 90018, 'busy');
    await expect(retryWhenThrottled(() => Promise.reject(busy), 2, sleep)).rejects.toBe(busy);
    expect(waits).toEqual([1000]);
    const invalid = new DingTalkError('sns/getuserinfo_bycode', 40078, 'no such code');
    let calls = 0;
    const once = (): Promise<string> => {
      calls += 1;
      return Promise.reject(invalid);
    };
    await expect(retryWhenThrottled(once, 3, sleep)).rejects.toBe(invalid);
    expect(calls).toBe(1);
  });
});
