import {
  emptyState,
  HOURLY_FAILURE_CAP,
  recordFailure,
  reserveAttempt,
  type ThrottlePolicy,
  type ThrottleState,
} from './login-throttle.policy';

const policy: ThrottlePolicy = {
  lockoutThreshold: 5,
  lockoutMs: 900_000,
  freeFailures: 3,
  delayBaseMs: 1000,
};
const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);

function fail(state: ThrottleState, now: Date, p = policy): ThrottleState {
  const r = reserveAttempt(state, now, p);
  if (!r.allowed) throw new Error('expected the attempt to be allowed');
  return recordFailure(r.next, now, p);
}

describe('login throttle policy', () => {
  it('allows free failures, then doubles the wait', () => {
    const p = { ...policy, lockoutThreshold: 10 };
    let s = emptyState(at(0));
    for (let i = 0; i < 3; i++) s = fail(s, at(0), p);
    expect(s.nextAttemptAt).toBeNull();
    s = fail(s, at(0), p);
    expect(s.nextAttemptAt).toEqual(at(1000));
    expect(reserveAttempt(s, at(500), p)).toEqual({ allowed: false, retryAfterMs: 500, locked: false });
    s = fail(s, at(1000), p);
    expect(s.nextAttemptAt).toEqual(at(3000));
  });

  it('locks after the threshold and unlocks when the lock runs out', () => {
    const p = { ...policy, freeFailures: 100 };
    let s = emptyState(at(0));
    for (let i = 0; i < 5; i++) s = fail(s, at(0), p);
    expect(s.lockedUntil).toEqual(at(900_000));
    expect(reserveAttempt(s, at(1000), p)).toMatchObject({
      allowed: false,
      locked: true,
      retryAfterMs: 899_000,
    });
    const r = reserveAttempt(s, at(900_000), p);
    expect(r.allowed && r.next.pending).toBe(1);
  });

  it('never lets parallel reservations exceed the threshold', () => {
    const p = { ...policy, freeFailures: 100 };
    let s = emptyState(at(0));
    let allowed = 0;
    for (let i = 0; i < 50; i++) {
      const r = reserveAttempt(s, at(0), p);
      if (r.allowed) {
        allowed++;
        s = r.next;
      }
    }
    expect(allowed).toBe(5);
    for (let i = 0; i < 5; i++) s = recordFailure(s, at(10), p);
    expect(s).toMatchObject({ pending: 0, lockedUntil: at(900_010) });
  });

  it('lets parallel correct logins of one account through (no delay from reservations alone)', () => {
    let s = emptyState(at(0));
    for (let i = 0; i < 32; i++) {
      const r = reserveAttempt(s, at(0), { ...policy, lockoutThreshold: 100 });
      if (!r.allowed) throw new Error(`attempt ${i} refused`);
      s = r.next;
    }
    expect(s).toMatchObject({ pending: 32, failures: 0, nextAttemptAt: null, lockedUntil: null });
  });

  it('forgets reservations of requests that never finished', () => {
    const p = { ...policy, lockoutThreshold: 2 };
    let s = emptyState(at(0));
    for (let i = 0; i < 2; i++) {
      const r = reserveAttempt(s, at(0), p);
      if (r.allowed) s = r.next;
    }
    expect(reserveAttempt(s, at(1000), p).allowed).toBe(false);
    expect(reserveAttempt(s, at(61_000), p).allowed).toBe(true);
  });

  it('caps counted attempts at 100 an hour whatever the settings', () => {
    const lax: ThrottlePolicy = { lockoutThreshold: 100, lockoutMs: 1, freeFailures: 100, delayBaseMs: 0 };
    let s = emptyState(at(0));
    let counted = 0;
    for (let minute = 0; minute < 60; minute++) {
      for (let i = 0; i < 10; i++) {
        const now = at(minute * 60_000 + i);
        const r = reserveAttempt(s, now, lax);
        if (!r.allowed) continue;
        counted++;
        s = recordFailure(r.next, now, lax);
      }
    }
    expect(counted).toBe(HOURLY_FAILURE_CAP);
    expect(reserveAttempt(s, at(3600_000), lax).allowed).toBe(true);
  });
});
