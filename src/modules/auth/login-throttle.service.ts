import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { Clock } from '../../common/time/clock';
import { LoginThrottleRepository } from './login-throttle.repository';
import {
  emptyState,
  recordFailure,
  reserveAttempt,
  type ThrottlePolicy,
  type ThrottleState,
} from './login-throttle.policy';

export type AttemptTicket =
  { allowed: true } | { allowed: false; retryAfterSeconds: number; locked: boolean };

const MAX_CAS_ROUNDS = 1000;
/** A subject with no attempt for this long starts over from nothing anyway: its row can go. */
const IDLE_PURGE_MS = 24 * 3600_000;
const PURGE_BATCH = 1000;
/** The job that deletes idle throttle rows, and its default schedule (hourly, at :17). */
export const PURGE_THROTTLES_JOB = 'auth-purge-idle-throttles';
export const PURGE_THROTTLES_CRON = '17 * * * *';

/** Applies the login throttle policy to stored state, atomically across parallel requests and replicas. */
@Injectable()
export class LoginThrottleService {
  private readonly policy: ThrottlePolicy;

  constructor(
    private readonly repository: LoginThrottleRepository,
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.policy = {
      lockoutThreshold: config.login.lockoutThreshold,
      lockoutMs: config.login.lockoutSeconds * 1000,
      freeFailures: config.login.freeFailures,
      delayBaseMs: config.login.delayBaseMs,
    };
  }

  async reserve(subjectKey: string): Promise<AttemptTicket> {
    let outcome: AttemptTicket | undefined;
    await this.update(subjectKey, (state, now) => {
      const reservation = reserveAttempt(state, now, this.policy);
      if (!reservation.allowed) {
        outcome = {
          allowed: false,
          retryAfterSeconds: Math.max(1, Math.ceil(reservation.retryAfterMs / 1000)),
          locked: reservation.locked,
        };
        return null;
      }
      outcome = { allowed: true };
      return reservation.next;
    });
    return outcome ?? { allowed: true };
  }

  /**
   * Records a failure; `within` runs in the same transaction once it is stored (the audit entry),
   * told whether this failure locked the account.
   */
  async failed(
    subjectKey: string,
    within?: (manager: EntityManager, lockedNow: boolean) => Promise<void>,
  ): Promise<void> {
    await this.update(
      subjectKey,
      (state, now) => recordFailure(state, now, this.policy),
      within &&
        ((manager, before, after, now) => {
          const lockedAt = (s: ThrottleState) =>
            s.lockedUntil !== null && s.lockedUntil.getTime() > now.getTime();
          return within(manager, lockedAt(after) && !lockedAt(before));
        }),
    );
  }

  /** Consecutive failures recorded for a subject (0 when none). */
  async failuresOf(subjectKey: string): Promise<number> {
    const row = await this.tx.run((manager) => this.repository.find(manager, subjectKey));
    return row?.failures ?? 0;
  }

  /** The reserved attempt succeeded; runs inside the caller's transaction with the session it opens. */
  succeededWithin(manager: EntityManager, subjectKey: string): Promise<void> {
    return this.repository.releaseSucceeded(manager, subjectKey);
  }

  async clear(subjectKey: string): Promise<void> {
    await this.tx.run((manager) => this.repository.delete(manager, subjectKey));
  }

  /** The same, inside a caller's transaction. */
  clearWithin(manager: EntityManager, subjectKey: string): Promise<void> {
    return this.repository.delete(manager, subjectKey);
  }

  /**
   * Deletes the rows of subjects idle for a day (unknown identifiers would otherwise pile up: each
   * one sprayed at the login leaves a row), a batch per transaction; stops between batches on abort.
   */
  async purgeIdle(signal?: AbortSignal): Promise<number> {
    const now = this.clock.now();
    const idleSince = new Date(now.getTime() - IDLE_PURGE_MS);
    let total = 0;
    for (;;) {
      signal?.throwIfAborted();
      const deleted = await this.tx.run((manager) =>
        this.repository.deleteIdleBatch(manager, now, idleSince, PURGE_BATCH),
      );
      total += deleted;
      if (deleted < PURGE_BATCH) return total;
    }
  }

  /** Read, decide, compare-and-swap; a lost race re-reads. `decide` returning null means "leave as is". */
  private async update(
    subjectKey: string,
    decide: (state: ThrottleState, now: Date) => ThrottleState | null,
    stored?: (
      manager: EntityManager,
      before: ThrottleState,
      after: ThrottleState,
      now: Date,
    ) => Promise<void>,
  ): Promise<void> {
    for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
      const done = await this.tx.run(async (manager) => {
        const now = this.clock.now();
        const row = await this.repository.find(manager, subjectKey);
        if (!row) {
          // Create the row, then decide against it in the next round like every other writer.
          await this.repository.insertIfAbsent(manager, subjectKey, emptyState(now));
          return false;
        }
        const next = decide(row, now);
        if (next === null) return true;
        if (!(await this.repository.replace(manager, subjectKey, row.version, next))) return false;
        if (stored) await stored(manager, row, next, now);
        return true;
      });
      if (done) return;
    }
    throw new Error(`login throttle for ${subjectKey} kept losing races`);
  }
}
