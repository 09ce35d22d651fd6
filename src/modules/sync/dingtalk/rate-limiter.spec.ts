import { SlidingWindowLimiter } from './rate-limiter';

describe('SlidingWindowLimiter', () => {
  it('never starts more than the limit within any window, serving callers in order', async () => {
    let now = 0;
    const starts: number[] = [];
    const limiter = new SlidingWindowLimiter(
      20,
      1000,
      () => now,
      (ms) => {
        now += ms;
        return Promise.resolve();
      },
    );
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 95 }, (_, i) =>
        limiter.acquire().then(() => {
          starts.push(now);
          order.push(i);
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: 95 }, (_, i) => i));
    for (let i = 0; i + 20 < starts.length; i++) {
      expect(starts[i + 20] - starts[i]).toBeGreaterThanOrEqual(1000);
    }
    // 95 requests at 20 per second need four full windows after the first burst.
    expect(now).toBeGreaterThanOrEqual(4000);
    expect(now).toBeLessThan(4100);
  });
});
