import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { AuditRepository } from './audit.repository';

const BATCH = 1000;
/** How soon after a commit its entries are indexed: long enough to gather a burst of writes. */
const DEBOUNCE_MS = 200;
/** Every process also catches up this often, for entries other processes (worker, CLI) wrote. */
const SWEEP_MS = 5000;

/**
 * Writes the summary trigrams of queued entries in batches. Indexing each entry in its own write
 * transaction dirtied one index page per trigram (about 30) on every audited write; in batches a page
 * takes many entries at once. A search reads the queue directly, so nothing is missed meanwhile.
 */
@Injectable()
export class AuditSearchIndexer implements OnApplicationBootstrap, OnApplicationShutdown {
  private sweep?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly entries: AuditRepository,
    private readonly tx: TransactionRunner,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.sweep = setInterval(() => void this.drain(), SWEEP_MS).unref();
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweep);
    clearTimeout(this.soon);
    await this.running;
  }

  /** Called once entries commit: indexes them shortly, together with whatever else arrives. */
  schedule(): void {
    if (this.soon || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.drain();
    }, DEBOUNCE_MS).unref();
  }

  /** Indexes everything queued, one batch per transaction; returns how many entries (one run at a time). */
  drain(): Promise<number> {
    this.running ??= this.indexAll().finally(() => (this.running = null));
    return this.running;
  }

  private async indexAll(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        if (this.stopped) return total;
        const indexed = await this.entries.indexPending(BATCH, (work) => this.tx.run(work));
        total += indexed;
        if (indexed < BATCH) return total;
      }
    } catch (error) {
      // A lock conflict with another process or a database restart: the next sweep picks it up.
      this.logger.warn({ err: error }, 'audit search indexing deferred');
      return total;
    }
  }
}
