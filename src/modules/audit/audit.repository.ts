import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { DirectSql } from '../../common/database/direct-sql';
import { datetimeParameter } from '../../common/database/transaction-runner';
import type { AdminScope, SqlCondition } from '../../common/guards/admin-scope';
import type { PageRequest } from '../../common/pagination/pagination';
import type { AuditFilter } from './audit-query';
import { AuditActorEntity, AuditEntryEntity } from './entities/audit-entry.entity';
import { type GramRange, searchRanges, summaryGrams } from './summary-grams';

export type AuditRow = Omit<AuditEntryEntity, 'id'>;

/** The columns a list page shows; detail and export read them all. */
const LIST_COLUMNS =
  'e.id, e.uuid, e.created_at, e.subject, e.summary, e.actor_user_id, e.actor_username, e.actor_name';
const ALL_COLUMNS =
  `${LIST_COLUMNS}, e.target_user_id, e.target_node_id, e.target_app_id, e.ip, e.user_agent, e.os, ` +
  'e.browser, e.method, e.path, e.body, e.request_id';
/** More matching actor snapshots than this and the `user` filter searches the log itself. */
const MAX_ACTOR_MATCHES = 1000;
const PURGE_BATCH = 5000;
const INSERT_CHUNK = 1000;
const INSERT_COLUMNS =
  'uuid, created_at, subject, summary, actor_user_id, actor_username, actor_name, target_user_id, ' +
  'target_node_id, target_app_id, ip, user_agent, os, browser, method, path, body, request_id';
/** Trigram rows per INSERT (two parameters each). */
const GRAM_CHUNK = 5000;
/**
 * A summary search reads each needle trigram's entries up to this many; a longer list is left out of
 * the intersection (it narrows little), and when every list is that long the matches are common
 * enough to find by reading the log newest first.
 */
const MAX_POSTINGS = 20_000;
/**
 * Candidate ids per query: MariaDB turns a longer IN list into a join with a temporary table
 * (in_predicate_conversion_threshold), which reads the log end to end instead of by primary key.
 */
const ID_LIST_CHUNK = 1000;
const INSERT_ROW = `(${INSERT_COLUMNS.split(',')
  .map(() => '?')
  .join(', ')})`;
/** `log/` counts matches up to this many and says so (`count_capped`); pages stop there too. */
export const COUNT_CAP = 10_000;
/** Up to this many matches are fetched by id and sorted in memory rather than read newest first. */
const SPARSE_MATCHES = 2_000;

export interface StoredEntry extends AuditRow {
  id: number;
}

interface Where {
  sql: string;
  params: unknown[];
}

function likeContains(needle: string): string {
  return `%${needle.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/** The audit tables, read with hand-written SQL so every list query is the indexed one we designed. */
@Injectable()
export class AuditRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly direct: DirectSql,
  ) {}

  /**
   * Multi-row INSERTs with bound parameters (one prepared statement per row count, through DirectSql:
   * every write path records), in chunks that stay under SQLite's bound-parameter limit.
   */
  async insert(manager: EntityManager, rows: AuditRow[]): Promise<void> {
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const chunk = rows.slice(start, start + INSERT_CHUNK);
      const params: unknown[] = [];
      for (const row of chunk) {
        params.push(
          row.uuid,
          datetimeParameter(this.dataSource, row.createdAt),
          row.subject,
          row.summary,
          row.actorUserId,
          row.actorUsername,
          row.actorName,
          row.targetUserId,
          row.targetNodeId,
          row.targetAppId,
          row.ip,
          row.userAgent,
          row.os,
          row.browser,
          row.method,
          row.path,
          row.body,
          row.requestId,
        );
      }
      await this.direct.execute(
        `INSERT INTO audit_log (${INSERT_COLUMNS}) VALUES ${chunk.map(() => INSERT_ROW).join(', ')}`,
        params,
        manager,
      );
      // Queued for the search index: one appended row here; the trigrams are written in batches.
      await this.direct.execute(
        `INSERT INTO audit_log_pending (log_id) SELECT id FROM audit_log WHERE uuid IN (${chunk.map(() => '?').join(', ')})`,
        chunk.map((r) => r.uuid),
        manager,
      );
    }
  }

  /**
   * Writes the trigrams of up to `batch` queued entries and takes them off the queue, in one
   * transaction; returns how many it indexed. Safe beside another process doing the same (a trigram
   * written twice is ignored).
   */
  async indexPending(
    batch: number,
    runBatch: (work: (m: EntityManager) => Promise<number>) => Promise<number>,
  ): Promise<number> {
    const sqlite = this.dataSource.options.type === 'better-sqlite3';
    const ignore = sqlite ? 'INSERT OR IGNORE' : 'INSERT IGNORE';
    return runBatch(async (manager) => {
      // A locking read on MySQL (SQLite has one writer): a purge deleting these entries either waits
      // for this batch and then deletes its trigrams, or goes first and this read no longer sees them.
      const queued = await manager.query<{ log_id: number | string; summary: string | null }[]>(
        'SELECT p.log_id, e.summary FROM audit_log_pending p LEFT JOIN audit_log e ON e.id = p.log_id ' +
          `ORDER BY p.log_id LIMIT ?${sqlite ? '' : ' FOR UPDATE'}`,
        [batch],
      );
      if (queued.length === 0) return 0;
      const pairs: number[] = [];
      for (const row of queued) {
        // An entry purged while queued has nothing left to index.
        if (row.summary !== null)
          for (const gram of summaryGrams(row.summary)) pairs.push(Number(row.log_id), gram);
      }
      for (let start = 0; start < pairs.length; start += GRAM_CHUNK * 2) {
        const chunk = pairs.slice(start, start + GRAM_CHUNK * 2);
        await manager.query(
          `${ignore} INTO audit_log_grams (log_id, gram) VALUES ${Array.from({ length: chunk.length / 2 }, () => '(?, ?)').join(', ')}`,
          chunk,
        );
      }
      await manager.query(
        `DELETE FROM audit_log_pending WHERE log_id IN (${queued.map(() => '?').join(', ')})`,
        queued.map((r) => Number(r.log_id)),
      );
      return queued.length;
    });
  }

  /** Notes actor snapshots for the `user` filter; a known one is left alone (no error, no write). */
  async noteActors(manager: EntityManager, actors: { username: string; name: string }[]): Promise<void> {
    await manager
      .createQueryBuilder()
      .insert()
      .into(AuditActorEntity)
      .values(actors)
      .orIgnore()
      .updateEntity(false)
      .execute();
  }

  /**
   * A page, newest first, and how many entries match, counted up to COUNT_CAP (counting every match of
   * a broad filter over millions of rows would cost more than the page; the CSV export has them all).
   * Few matches (and any contains-search) are collected by the filter's own index and sorted here;
   * many are read newest first.
   */
  async page(
    filter: AuditFilter,
    scope: AdminScope,
    page: PageRequest,
  ): Promise<{ rows: StoredEntry[]; count: number; capped: boolean }> {
    const where = await this.where(filter, scope);
    if (!where) return { rows: [], count: 0, capped: false };
    // A summary search narrows to the entries holding every needle trigram; the LIKE in `where`
    // then keeps the true matches among them.
    if (filter.summary) {
      // The queue first: an entry the indexer moves meanwhile is then either still queued here or
      // already in the trigram lists read next (read the other way round, it could be in neither).
      const queued = await this.queuedMatches(where);
      const candidates = await this.summaryCandidates(filter.summary);
      if (candidates !== null) return this.pageOfCandidates(queued, candidates, where, page);
    }
    const [{ n }] = await this.dataSource.query<{ n: number | string }[]>(
      `SELECT COUNT(*) AS n FROM (SELECT 1 FROM audit_log e WHERE ${where.sql} LIMIT ?) m`,
      [...where.params, COUNT_CAP + 1],
    );
    const capped = Number(n) > COUNT_CAP;
    const count = Math.min(Number(n), COUNT_CAP);
    if (count === 0 || page.offset >= count) return { rows: [], count, capped };
    if (count <= SPARSE_MATCHES) return this.pageOfMatches(where, page);
    return { rows: await this.newestFirst(where, page), count, capped };
  }

  /** Late row lookup: the page's ids come from the index alone, then only those rows are read. */
  private async newestFirst(where: Where, page: PageRequest): Promise<StoredEntry[]> {
    const found = await this.dataSource.query<{ id: number | string }[]>(
      `SELECT e.id FROM audit_log e WHERE ${where.sql} ORDER BY e.created_at DESC, e.id DESC LIMIT ? OFFSET ?`,
      [...where.params, page.pageSize, page.offset],
    );
    return this.rowsByIds(found.map((r) => Number(r.id)));
  }

  /**
   * Every match's id and time (up to the cap) in one pass with no ORDER BY, so the optimizer uses the
   * index that serves the filter rather than walking the time index past non-matching entries; the
   * matches are then ordered here.
   */
  private async pageOfMatches(
    where: Where,
    page: PageRequest,
  ): Promise<{ rows: StoredEntry[]; count: number; capped: boolean }> {
    const matches = await this.dataSource.query<{ id: number | string; created_at: unknown }[]>(
      `SELECT e.id, e.created_at FROM audit_log e WHERE ${where.sql} LIMIT ?`,
      [...where.params, COUNT_CAP + 1],
    );
    return this.pageOf(matches, page);
  }

  /**
   * The ids that may contain `needle`: the intersection of its trigrams' entry lists, read in one
   * round trip, each as one concatenated string and up to MAX_POSTINGS long. Null when every list
   * is longer (a common needle: the caller reads the log instead).
   */
  private async summaryCandidates(needle: string): Promise<number[] | null> {
    const ranges = searchRanges(needle);
    const sql = ranges
      .map(
        () =>
          'SELECT COUNT(*) AS n, GROUP_CONCAT(log_id) AS ids FROM ' +
          '(SELECT log_id FROM audit_log_grams WHERE gram BETWEEN ? AND ? LIMIT ?) p',
      )
      .join(' UNION ALL ');
    const params = ranges.flatMap(([low, high]: GramRange) => [low, high, MAX_POSTINGS + 1]);
    const runner = this.dataSource.createQueryRunner();
    let lists: { n: number | string; ids: string | null }[];
    try {
      // MySQL cuts GROUP_CONCAT at 1 KB by default (MariaDB at 1 MB); a full list needs about 160 KB.
      if (this.dataSource.options.type !== 'better-sqlite3')
        await runner.query('SET SESSION group_concat_max_len = 4194304');
      lists = (await runner.query(sql, params)) as typeof lists;
    } finally {
      await runner.release();
    }
    const complete = lists
      .filter((list) => Number(list.n) <= MAX_POSTINGS)
      .map((list) => (list.ids ? list.ids.split(',').map(Number) : []))
      .sort((a, b) => a.length - b.length);
    if (complete.length === 0) return null;
    let candidates = new Set(complete[0]);
    for (const list of complete.slice(1)) {
      if (candidates.size === 0) break;
      const next = new Set<number>();
      for (const id of list) if (candidates.has(id)) next.add(id);
      candidates = next;
    }
    return [...candidates];
  }

  /** Entries still queued for the index are not among the candidates: they are checked directly. */
  private queuedMatches(where: Where): Promise<{ id: number | string; created_at: unknown }[]> {
    return this.dataSource.query<{ id: number | string; created_at: unknown }[]>(
      `SELECT e.id, e.created_at FROM audit_log_pending p JOIN audit_log e ON e.id = p.log_id WHERE ${where.sql}`,
      where.params,
    );
  }

  /**
   * The queued matches and the candidates that pass every filter (ids are integers we parsed, so
   * they are inlined).
   */
  private async pageOfCandidates(
    queued: { id: number | string; created_at: unknown }[],
    candidates: number[],
    where: Where,
    page: PageRequest,
  ): Promise<{ rows: StoredEntry[]; count: number; capped: boolean }> {
    const ids = candidates.filter(Number.isSafeInteger);
    const matches = [...queued];
    for (let start = 0; start < ids.length; start += ID_LIST_CHUNK) {
      const chunk = ids.slice(start, start + ID_LIST_CHUNK).join(', ');
      matches.push(
        ...(await this.dataSource.query<{ id: number | string; created_at: unknown }[]>(
          `SELECT e.id, e.created_at FROM audit_log e WHERE e.id IN (${chunk}) AND ${where.sql}`,
          where.params,
        )),
      );
    }
    const unique = new Map(matches.map((m) => [Number(m.id), m]));
    return this.pageOf([...unique.values()], page);
  }

  /** Matches (id and time) ordered newest first here, counted up to the cap, and the page's rows. */
  private async pageOf(
    matches: { id: number | string; created_at: unknown }[],
    page: PageRequest,
  ): Promise<{ rows: StoredEntry[]; count: number; capped: boolean }> {
    const capped = matches.length > COUNT_CAP;
    const count = Math.min(matches.length, COUNT_CAP);
    if (page.offset >= count) return { rows: [], count, capped };
    const ids = matches
      .map((m) => ({ id: Number(m.id), at: toDate(m.created_at).getTime() }))
      .sort((a, b) => b.at - a.at || b.id - a.id)
      .slice(page.offset, Math.min(page.offset + page.pageSize, count))
      .map((m) => m.id);
    return { rows: await this.rowsByIds(ids), count, capped };
  }

  private async rowsByIds(ids: number[]): Promise<StoredEntry[]> {
    if (ids.length === 0) return [];
    const rows = await this.dataSource.query<Record<string, unknown>[]>(
      `SELECT ${LIST_COLUMNS} FROM audit_log e WHERE e.id IN (${ids.map(() => '?').join(', ')}) ` +
        'ORDER BY e.created_at DESC, e.id DESC',
      ids,
    );
    return rows.map(toStored);
  }

  async findByUuid(uuid: string, scope: AdminScope): Promise<StoredEntry | null> {
    const visible = scopeCondition(scope);
    const rows = await this.dataSource.query<Record<string, unknown>[]>(
      `SELECT ${ALL_COLUMNS} FROM audit_log e WHERE e.uuid = ? AND ${visible.sql}`,
      [uuid, ...visible.params],
    );
    return rows.length > 0 ? toStored(rows[0]) : null;
  }

  /** Newest first in keyset batches, so an export of any size holds one batch in memory. */
  async *scan(filter: AuditFilter, scope: AdminScope, batch: number): AsyncGenerator<StoredEntry[]> {
    const where = await this.where(filter, scope);
    if (!where) return;
    let after: { createdAt: unknown; id: number } | null = null;
    for (;;) {
      const keyset: Where = after
        ? {
            sql: ' AND (e.created_at < ? OR (e.created_at = ? AND e.id < ?))',
            params: [after.createdAt, after.createdAt, after.id],
          }
        : { sql: '', params: [] };
      const rows = await this.dataSource.query<Record<string, unknown>[]>(
        `SELECT ${ALL_COLUMNS} FROM audit_log e WHERE ${where.sql}${keyset.sql} ` +
          'ORDER BY e.created_at DESC, e.id DESC LIMIT ?',
        [...where.params, ...keyset.params, batch],
      );
      if (rows.length === 0) return;
      const last = rows[rows.length - 1];
      after = { createdAt: last.created_at, id: Number(last.id) };
      yield rows.map(toStored);
      if (rows.length < batch) return;
    }
  }

  /** Deletes entries created before `cutoff`, one batch per transaction; returns how many went. */
  async purgeBefore(
    cutoff: Date,
    runBatch: (work: (m: EntityManager) => Promise<number>) => Promise<number>,
  ): Promise<number> {
    const before = datetimeParameter(this.dataSource, cutoff);
    let total = 0;
    for (;;) {
      const deleted = await runBatch(async (manager) => {
        const ids = await manager.query<{ id: number }[]>(
          'SELECT id FROM audit_log WHERE created_at < ? ORDER BY created_at LIMIT ?',
          [before, PURGE_BATCH],
        );
        if (ids.length === 0) return 0;
        const list = ids.map(() => '?').join(', ');
        // In the order the search indexer locks them (queue, entry, then trigrams): the trigrams are
        // deleted once a batch that indexed these entries has committed.
        const statements = [
          `DELETE FROM audit_log_pending WHERE log_id IN (${list})`,
          `DELETE FROM audit_log WHERE id IN (${list})`,
          `DELETE FROM audit_log_grams WHERE log_id IN (${list})`,
        ];
        for (const sql of statements)
          await manager.query(
            sql,
            ids.map((r) => r.id),
          );
        return ids.length;
      });
      total += deleted;
      if (deleted < PURGE_BATCH) return total;
    }
  }

  private async where(filter: AuditFilter, scope: AdminScope): Promise<Where | null> {
    const parts: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, ...values: unknown[]) => {
      parts.push(sql);
      params.push(...values);
    };
    if (filter.since) add('e.created_at >= ?', datetimeParameter(this.dataSource, filter.since));
    if (filter.until) add('e.created_at < ?', datetimeParameter(this.dataSource, filter.until));
    if (filter.subjects)
      add(`e.subject IN (${filter.subjects.map(() => '?').join(', ')})`, ...filter.subjects);
    if (filter.summary) add("e.summary LIKE ? ESCAPE '!'", likeContains(filter.summary));
    if (filter.user) {
      const actors = await this.matchingActors(filter.user);
      if (actors === null) {
        const like = likeContains(filter.user);
        add("(e.actor_username LIKE ? ESCAPE '!' OR e.actor_name LIKE ? ESCAPE '!')", like, like);
      } else if (actors.length === 0) {
        return null;
      } else {
        // The IN list gives the optimizer one index range per actor; the pairs then keep the exact names.
        const usernames = [...new Set(actors.map((a) => a.username))];
        add(
          `e.actor_username IN (${usernames.map(() => '?').join(', ')}) AND ` +
            `(${actors.map(() => '(e.actor_username = ? AND e.actor_name = ?)').join(' OR ')})`,
          ...usernames,
          ...actors.flatMap((a) => [a.username, a.name]),
        );
      }
    }
    const visible = scopeCondition(scope);
    if (visible.sql !== '1=1') add(visible.sql, ...visible.params);
    return { sql: parts.length > 0 ? parts.join(' AND ') : '1=1', params };
  }

  /** The actor snapshots a `user` search names, or null when there are too many to list. */
  private async matchingActors(needle: string): Promise<{ username: string; name: string }[] | null> {
    const like = likeContains(needle);
    const rows = await this.dataSource.query<{ username: string; name: string }[]>(
      "SELECT username, name FROM audit_actors WHERE username LIKE ? ESCAPE '!' OR name LIKE ? ESCAPE '!' LIMIT ?",
      [like, like, MAX_ACTOR_MATCHES + 1],
    );
    return rows.length > MAX_ACTOR_MATCHES ? null : rows;
  }
}

/**
 * A sub-admin sees the entries about a user, node or app it manages; an entry about nothing in
 * particular (a login failure for no account, say) only superusers see.
 */
function scopeCondition(scope: AdminScope): Where {
  if (scope.unrestricted) return { sql: '1=1', params: [] };
  const user = positional(scope.userCondition('e.target_user_id'));
  const node = positional(scope.nodeCondition('e.target_node_id'));
  const app = positional(scope.appCondition('e.target_app_id'));
  return {
    sql:
      `((e.target_user_id IS NOT NULL AND (${user.sql})) OR (e.target_node_id IS NOT NULL AND (${node.sql}))` +
      ` OR (e.target_app_id IS NOT NULL AND (${app.sql})))`,
    params: [...user.params, ...node.params, ...app.params],
  };
}

/** A query-builder condition (`:name`, `:...list`) as positional `?` SQL, which both drivers bind. */
export function positional(condition: SqlCondition): Where {
  const params: unknown[] = [];
  const sql = condition.sql.replace(
    /:(\.\.\.)?([A-Za-z_]\w*)/g,
    (_, spread: string | undefined, name: string) => {
      if (!Object.hasOwn(condition.params, name)) throw new Error(`scope condition lacks parameter ${name}`);
      const value = condition.params[name];
      if (spread) {
        const list = value as unknown[];
        if (list.length === 0) return 'NULL';
        params.push(...list);
        return list.map(() => '?').join(', ');
      }
      params.push(value);
      return '?';
    },
  );
  return { sql, params };
}

function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  // SQLite keeps datetimes as UTC text: "2026-03-10 04:00:00.123".
  return new Date(`${String(value).replace(' ', 'T')}Z`);
}

const nullableInt = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

function toStored(row: Record<string, unknown>): StoredEntry {
  const str = (key: string): string => (typeof row[key] === 'string' ? row[key] : '');
  return {
    id: Number(row.id),
    uuid: str('uuid'),
    createdAt: toDate(row.created_at),
    subject: str('subject'),
    summary: str('summary'),
    actorUserId: nullableInt(row.actor_user_id),
    actorUsername: str('actor_username'),
    actorName: str('actor_name'),
    targetUserId: nullableInt(row.target_user_id),
    targetNodeId: nullableInt(row.target_node_id),
    targetAppId: nullableInt(row.target_app_id),
    ip: str('ip'),
    userAgent: str('user_agent'),
    os: str('os'),
    browser: str('browser'),
    method: str('method'),
    path: str('path'),
    body: typeof row.body === 'string' ? row.body : null,
    requestId: str('request_id'),
  };
}
