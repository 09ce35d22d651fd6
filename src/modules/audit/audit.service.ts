import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Request } from 'express';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import { TransactionRunner } from '../../common/database/transaction-runner';
import type { AdminScope } from '../../common/guards/admin-scope';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import {
  currentPrincipal,
  currentRequestFacts,
  currentRequestId,
} from '../../common/logging/request-context';
import { type Page, pageRequest, toPage } from '../../common/pagination/pagination';
import { Clock } from '../../common/time/clock';
import { DateTimeFormatter } from '../../common/time/date-time.formatter';
import { AppConfig } from '../../config/app-config';
import { type AuditFilter, type FilterClock, parseAuditFilter } from './audit-query';
import { AUDIT_SUBJECTS, type AuditSubject, subjectLabel } from './audit-subjects';
import { type AuditRow, AuditRepository, type StoredEntry } from './audit.repository';
import { AuditSearchIndexer } from './audit-search-indexer';
import { maskedBodyText } from './body-masking';
import { parseUserAgent } from './user-agent';
import { CommonErrors } from '../../common/errors/domain-error';

/** Who acted, as the entry will keep it (the user row may later be renamed or deleted). */
export interface AuditActor {
  userId: number | null;
  username: string;
  name: string;
}

/** Changes made by Arbor itself or an operator at the command line. */
export const SYSTEM_ACTOR: AuditActor = { userId: null, username: 'system', name: 'system' };

export interface AuditEntryInput {
  subject: AuditSubject;
  summary: string;
  targetUserId?: number | null;
  targetNodeId?: number | null;
  targetAppId?: number | null;
  /**
   * Omitted: the request's principal, or SYSTEM_ACTOR outside a request. `null`: nobody known (a
   * failed login); the entry names no actor.
   */
  actor?: AuditActor | null;
}

export interface LiteLogDto {
  uuid: string;
  created: string;
  user: { user_id?: number | null; username: string; name: string };
  subject: string;
  summary: string;
  subject_verbose: string;
}

export interface LogDto extends LiteLogDto {
  detail: string;
  ip: string;
  os: string;
  browser: string;
  request_id: string;
}

const UNKNOWN_USER = { username: 'unknown', name: 'unknown' };

/**
 * The audit log. Rooms call `record` inside the transaction that makes the change, so a change and its
 * entry commit or roll back together; the request's actor, client IP, agent, method, path, masked body
 * and id come from the request context.
 */
/** The contract's page plus whether `count` reached the cap. */
export type LogPage = Page<LiteLogDto> & { count_capped: boolean };

/** Bound on the noted-actor memory; past it the set starts over (the insert is idempotent). */
const NOTED_ACTORS_MAX = 50_000;

@Injectable()
export class AuditService implements OnApplicationBootstrap {
  private readonly enabled: boolean;
  /** Actor snapshots this process has seen committed to audit_actors. */
  private readonly notedActors = new Set<string>();

  constructor(
    private readonly entries: AuditRepository,
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    private readonly dates: DateTimeFormatter,
    private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    private readonly indexer: AuditSearchIndexer,
  ) {
    this.enabled = config.audit.enabled;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) {
      this.logger.warn(
        { setting: 'AUDIT_ENABLED' },
        'AUDIT LOG IS OFF (AUDIT_ENABLED=false): no change is being recorded. This is for benchmark baselines only.',
      );
    }
  }

  record(manager: EntityManager, entry: AuditEntryInput): Promise<void> {
    return this.recordMany(manager, [entry]);
  }

  /** Several entries of one request at once (one multi-row INSERT), e.g. each user a CSV import wrote. */
  async recordMany(manager: EntityManager, entries: AuditEntryInput[]): Promise<void> {
    if (!this.enabled || entries.length === 0) return;
    const facts = currentRequestFacts();
    const principal = currentPrincipal();
    const fallback: AuditActor = principal
      ? { userId: principal.userId, username: principal.username, name: principal.name ?? '' }
      : SYSTEM_ACTOR;
    const agent = facts ? parseUserAgent(facts.userAgent) : { os: '', browser: '' };
    const body = facts ? maskedBodyText(facts.body()) : null;
    const createdAt = this.clock.now();
    const requestId = currentRequestId() ?? '';
    const actors = new Map<string, { username: string; name: string }>();
    const rows = entries.map((entry): AuditRow => {
      const actor = entry.actor === undefined ? fallback : entry.actor;
      const username = (actor?.username ?? '').slice(0, 64);
      const name = (actor?.name ?? '').slice(0, 255);
      if (username) actors.set(`${username}\n${name}`, { username, name });
      return {
        uuid: randomUUID().replace(/-/g, ''),
        createdAt,
        subject: entry.subject,
        summary: entry.summary.slice(0, 512),
        actorUserId: actor?.userId ?? null,
        actorUsername: username,
        actorName: name,
        targetUserId: entry.targetUserId ?? null,
        targetNodeId: entry.targetNodeId ?? null,
        targetAppId: entry.targetAppId ?? null,
        ip: (facts?.ip ?? '').slice(0, 64),
        userAgent: (facts?.userAgent ?? '').slice(0, 512),
        os: agent.os,
        browser: agent.browser,
        method: facts?.method ?? '',
        path: (facts?.path ?? '').slice(0, 1024),
        body,
        requestId: requestId.slice(0, 128),
      };
    });
    await this.entries.insert(manager, rows);
    this.tx.afterCommit(manager, () => this.indexer.schedule());
    // Each actor snapshot is noted once; a process that has noted one skips the write from then on.
    const fresh = [...actors].filter(([key]) => !this.notedActors.has(key));
    if (fresh.length > 0) {
      await this.entries.noteActors(
        manager,
        fresh.map(([, actor]) => actor),
      );
      // Remembered only once the writing transaction commits: a rollback takes the row with it.
      this.tx.afterCommit(manager, () => {
        if (this.notedActors.size >= NOTED_ACTORS_MAX) this.notedActors.clear();
        for (const [key] of fresh) this.notedActors.add(key);
      });
    }
  }

  // ---- reading (log/, log/{uuid}, meta/log/, export) ----

  filterOf(query: Record<string, unknown>): AuditFilter {
    return parseAuditFilter(query, this.filterClock());
  }

  /** `log/`: LiteLog, newest first; `count` stops at COUNT_CAP and `count_capped` says when it did. */
  async list(req: Request, query: Record<string, unknown>, scope: AdminScope): Promise<LogPage> {
    const filter = this.filterOf(query);
    const page = pageRequest(query);
    const { rows, count, capped } = await this.entries.page(filter, scope, page);
    return {
      ...toPage(
        req,
        this.config.baseUrl,
        page,
        count,
        rows.map((row) => this.toLite(row)),
      ),
      count_capped: capped,
    };
  }

  async detail(uuid: string, scope: AdminScope): Promise<LogDto> {
    const row = /^[0-9a-f]{32}$/.test(uuid) ? await this.entries.findByUuid(uuid, scope) : null;
    if (!row) throw CommonErrors.notFound();
    return {
      ...this.toLite(row),
      detail: [
        `IP: ${row.ip}`,
        `Agent: ${row.userAgent}`,
        `URL: ${row.path}`,
        `Method: ${row.method}`,
        `DATA: ${row.body ?? ''}`,
      ].join('\n'),
      ip: row.ip,
      os: row.os,
      browser: row.browser,
      request_id: row.requestId,
    };
  }

  subjects(): { subject: string; name: string }[] {
    return Object.entries(AUDIT_SUBJECTS).map(([subject, name]) => ({ subject, name }));
  }

  /** Entries matching the filter, newest first, a batch at a time (for the CSV export). */
  scan(filter: AuditFilter, scope: AdminScope): AsyncGenerator<StoredEntry[]> {
    return this.entries.scan(filter, scope, 1000);
  }

  formatDate(date: Date): string {
    return this.dates.format(date);
  }

  // ---- retention ----

  /** Deletes the entries older than AUDIT_RETENTION_DAYS (none when it is 0); returns how many. */
  async purgeExpired(): Promise<number> {
    const days = this.config.audit.retentionDays;
    if (days === 0) return 0;
    const cutoff = new Date(this.clock.now().getTime() - days * 24 * 3600 * 1000);
    const deleted = await this.entries.purgeBefore(cutoff, (work) => this.tx.run(work));
    if (deleted > 0) this.logger.info({ deleted, retention_days: days }, 'audit log entries purged');
    return deleted;
  }

  private toLite(row: StoredEntry): LiteLogDto {
    return {
      uuid: row.uuid,
      created: this.dates.format(row.createdAt),
      user: row.actorUsername
        ? { user_id: row.actorUserId, username: row.actorUsername, name: row.actorName }
        : { ...UNKNOWN_USER },
      subject: row.subject,
      summary: row.summary,
      subject_verbose: subjectLabel(row.subject),
    };
  }

  private filterClock(): FilterClock {
    const now = this.clock.now();
    const local = this.dates.format(now);
    return { now, localDate: local.slice(0, 10), localOffset: local.slice(19) };
  }
}
