/**
 * Failed-login rules as pure functions over one subject's state (see LoginThrottleEntity).
 *
 * An attempt is *reserved* before the password is checked (`pending`), so parallel attempts can never
 * exceed the threshold: failures plus attempts in flight must stay below it. A failure turns the
 * reservation into a recorded failure; a success releases it and clears the count
 * (LoginThrottleRepository.releaseSucceeded, a single atomic UPDATE). The account locks
 * once `lockoutThreshold` consecutive failures are recorded. After `freeFailures`, every further
 * failure doubles the wait before the next attempt. Whatever the settings, no subject gets more than
 * HOURLY_FAILURE_CAP attempts counted in an hour. Reservations older than PENDING_TTL_MS are forgotten,
 * so a crashed request cannot hold one forever.
 */
export const HOURLY_FAILURE_CAP = 100;
export const PENDING_TTL_MS = 60_000;
const HOUR_MS = 3600_000;

export interface ThrottleState {
  failures: number;
  pending: number;
  pendingUntil: Date | null;
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
  return {
    failures: 0,
    pending: 0,
    pendingUntil: null,
    nextAttemptAt: null,
    lockedUntil: null,
    windowStartedAt: now,
    windowFailures: 0,
  };
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
  const pending = state.pendingUntil && state.pendingUntil.getTime() > t ? state.pending : 0;
  if (state.failures + pending >= policy.lockoutThreshold) {
    // Attempts still being checked could reach the threshold; wait for them to settle.
    return { allowed: false, retryAfterMs: 1000, locked: false };
  }
  if (state.nextAttemptAt && state.nextAttemptAt.getTime() > t) {
    return { allowed: false, retryAfterMs: state.nextAttemptAt.getTime() - t, locked: false };
  }
  return {
    allowed: true,
    next: {
      ...state,
      pending: pending + 1,
      pendingUntil: new Date(t + PENDING_TTL_MS),
      lockedUntil: null,
      windowStartedAt,
      windowFailures: windowFailures + 1,
    },
  };
}

/** The reserved attempt failed: it becomes a recorded failure; past the free ones it delays the next. */
export function recordFailure(state: ThrottleState, now: Date, policy: ThrottlePolicy): ThrottleState {
  const t = now.getTime();
  const failures = state.failures + 1;
  const pending = Math.max(0, state.pending - 1);
  if (failures >= policy.lockoutThreshold) {
    return {
      ...state,
      failures: 0,
      pending,
      nextAttemptAt: null,
      lockedUntil: new Date(t + policy.lockoutMs),
    };
  }
  const delayed = failures - policy.freeFailures;
  const delayMs = delayed > 0 ? Math.min(policy.delayBaseMs * 2 ** (delayed - 1), policy.lockoutMs) : 0;
  return {
    ...state,
    failures,
    pending,
    nextAttemptAt: delayMs > 0 ? new Date(t + delayMs) : state.nextAttemptAt,
  };
}
