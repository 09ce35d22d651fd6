import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * The one way to write. On MySQL/MariaDB each unit of work gets its own pooled connection and
 * transaction. TypeORM's SQLite driver has a single connection that every caller shares, so two
 * overlapping transactions would nest into each other; there, units of work run one after another.
 * Keep slow work (password hashing, outside calls) out of the callback, and never nest `run`.
 */
@Injectable()
export class TransactionRunner {
  private readonly serialize: boolean;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly dataSource: DataSource) {
    this.serialize = dataSource.options.type === 'better-sqlite3';
  }

  /** What to do once a unit of work has committed, by the manager it ran with. */
  private readonly committed = new WeakMap<EntityManager, (() => void)[]>();

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialize) return this.unit(work);
    const result = this.tail.then(() => this.unit(work));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Runs `then` after the unit of work that `manager` belongs to commits, and never if it rolls back:
   * for in-process caches that must not remember what the database forgot.
   */
  afterCommit(manager: EntityManager, then: () => void): void {
    const list = this.committed.get(manager);
    if (list) list.push(then);
    else this.committed.set(manager, [then]);
  }

  private async unit<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const ran: { manager?: EntityManager } = {};
    try {
      const result = await this.dataSource.transaction((manager) => {
        ran.manager = manager;
        return work(manager);
      });
      for (const then of (ran.manager && this.committed.get(ran.manager)) ?? []) then();
      return result;
    } finally {
      if (ran.manager) this.committed.delete(ran.manager);
    }
  }
}

/** The unique index a failed insert/update collided with, or null for any other error. */
export function uniqueViolationIndex(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const e = error as { code?: unknown; errno?: unknown; message?: unknown; driverError?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  if (e.code === 'ER_DUP_ENTRY' || e.errno === 1062) {
    return /for key '(?:[^.']*\.)?([^']+)'/.exec(message)?.[1] ?? 'unknown';
  }
  if (typeof e.code === 'string' && e.code.startsWith('SQLITE_CONSTRAINT_UNIQUE')) {
    // SQLite names the columns, not the index: "UNIQUE constraint failed: users.username".
    return /UNIQUE constraint failed: (\S+)/.exec(message)?.[1] ?? 'unknown';
  }
  if (e.driverError && e.driverError !== error) return uniqueViolationIndex(e.driverError);
  return null;
}

/** Converts a Date into the value the driver stores for a datetime column, for hand-built conditions. */
export function datetimeParameter(dataSource: DataSource, date: Date): Date | string {
  if (dataSource.options.type === 'better-sqlite3')
    return date.toISOString().replace('T', ' ').replace('Z', '');
  return date;
}
