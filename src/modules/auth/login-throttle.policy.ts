/**
 * Failed-login rules as pure functions over one subject's state (see LoginThrottleEntity).
 *
 * An attempt is *reserved* before the password is checked and counted as a failure straight away, so
 * parallel attempts can never exceed the threshold; a success refunds it. The account locks once
 * `lockoutThreshold` consecutive failures have been recorded. After `freeFailures`, every further
 * attempt must wait twice as long as the previous one. Whatever the settings, no subject gets more
 * than HOURLY_FAILURE_CAP attempts counted in an hour.
 */
export const HOURLY_FAILURE_CAP = 100;
const HOUR_MS = 3600_000;

export interface ThrottleState {
  failures: number;
  nextAttemptAt: Date | null;
  lockedUntil: Date | null;
  windowStartedAt: Date;
  windowFailures: number;
}

export interface ThrottlePolicy {
  lockoutThreshold: number;
  lockoutMs: number;
  freeFailures: number;
  delayBaseMs: number;
}

export type Reservation =
  { allowed: true; next: ThrottleState } | { allowed: false; retryAfterMs: number; locked: boolean };

export function emptyState(now: Date): ThrottleState {
  return { failures: 0, nextAttemptAt: null, lockedUntil: null, windowStartedAt: now, windowFailures: 0 };
}

export function reserveAttempt(state: ThrottleState, now: Date, policy: ThrottlePolicy): Reservation {
  const t = now.getTime();
  if (state.lockedUntil && state.lockedUntil.getTime() > t) {
    return { allowed: false, retryAfterMs: state.lockedUntil.getTime() - t, locked: true };
  }
  const windowExpired = state.windowStartedAt.getTime() + HOUR_MS <= t;
  const windowStartedAt = windowExpired ? now : state.windowStartedAt;
  const windowFailures = windowExpired ? 0 : state.windowFailures;
  if (windowFailures >= HOURLY_FAILURE_CAP) {
    return { allowed: false, retryAfterMs: windowStartedAt.getTime() + HOUR_MS - t, locked: true };
  }
  // A lock that has run out starts a fresh count.
  const failures = state.lockedUntil ? 0 : state.failures;
  if (failures >= policy.lockoutThreshold) {
    // Earlier attempts are still being checked; the last of them will lock the account.
    return { allowed: false, retryAfterMs: policy.lockoutMs, locked: true };
  }
  if (state.nextAttemptAt && state.nextAttemptAt.getTime() > t) {
    return { allowed: false, retryAfterMs: state.nextAttemptAt.getTime() - t, locked: false };
  }
  const counted = failures + 1;
  const delayed = counted - policy.freeFailures;
  const delayMs = delayed > 0 ? Math.min(policy.delayBaseMs * 2 ** (delayed - 1), policy.lockoutMs) : 0;
  return {
    allowed: true,
    next: {
      failures: counted,
      nextAttemptAt: delayMs > 0 ? new Date(t + delayMs) : null,
      lockedUntil: null,
      windowStartedAt,
      windowFailures: windowFailures + 1,
    },
  };
}

/** The reserved attempt failed: it stays counted; reaching the threshold locks. */
export function recordFailure(state: ThrottleState, now: Date, policy: ThrottlePolicy): ThrottleState {
  if (state.failures < policy.lockoutThreshold) return state;
  return {
    ...state,
    failures: 0,
    nextAttemptAt: null,
    lockedUntil: new Date(now.getTime() + policy.lockoutMs),
  };
}

/** The reserved attempt succeeded: it is refunded and the consecutive count starts over. */
export function recordSuccess(state: ThrottleState): ThrottleState {
  return {
    ...state,
    failures: 0,
    nextAttemptAt: null,
    windowFailures: Math.max(0, state.windowFailures - 1),
  };
}
