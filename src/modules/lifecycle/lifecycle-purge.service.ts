import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { Clock } from '../../common/time/clock';
import { SchedulesService } from '../jobs/schedules.service';
import { CaptchasRepository, InvitationsRepository, VerificationsRepository } from './lifecycle.repositories';

/** The job kind that deletes dead verification rows, and its default schedule (hourly, at :07). */
export const PURGE_EXPIRED_JOB = 'lifecycle-purge-expired';
export const PURGE_EXPIRED_CRON = '7 * * * *';
/** Rows deleted per transaction, so a purge never holds long locks beside sign-ups and logins. */
export const PURGE_BATCH = 1000;

export interface PurgeCounts {
  verifications: number;
  captchas: number;
  invitations: number;
}

/**
 * Deletes what can no longer be used: expired codes, sms_tokens and email_tokens, expired captchas, and
 * invitations that expired, were used or were replaced. Expired rows already answer "expired" or
 * "invalid"; deleting them only keeps the tables small. Runs as a scheduled job of the jobs room (the
 * worker, or the API itself without Redis); the schedule row is created at the first start.
 */
@Injectable()
export class LifecyclePurgeService implements OnApplicationBootstrap {
  constructor(
    private readonly verifications: VerificationsRepository,
    private readonly captchas: CaptchasRepository,
    private readonly invitations: InvitationsRepository,
    private readonly schedules: SchedulesService,
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.schedules.installDefault(PURGE_EXPIRED_JOB, PURGE_EXPIRED_CRON);
  }

  /** Deletes every dead row, one batch per transaction; stops between batches when `signal` aborts. */
  async purgeExpired(signal?: AbortSignal): Promise<PurgeCounts> {
    const now = this.clock.now();
    const counts: PurgeCounts = {
      verifications: await this.drain(signal, (m) =>
        this.verifications.deleteExpiredBatch(m, now, PURGE_BATCH),
      ),
      captchas: await this.drain(signal, (m) => this.captchas.deleteExpiredBatch(m, now, PURGE_BATCH)),
      invitations: await this.drain(signal, (m) => this.invitations.deleteDeadBatch(m, now, PURGE_BATCH)),
    };
    if (counts.verifications + counts.captchas + counts.invitations > 0) {
      this.logger.info({ ...counts }, 'expired verification codes, captchas and invitations purged');
    }
    return counts;
  }

  private async drain(
    signal: AbortSignal | undefined,
    batch: (manager: EntityManager) => Promise<number>,
  ): Promise<number> {
    let total = 0;
    for (;;) {
      signal?.throwIfAborted();
      const deleted = await this.tx.run(batch);
      total += deleted;
      if (deleted < PURGE_BATCH) return total;
    }
  }
}
