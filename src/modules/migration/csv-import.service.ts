import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { parse } from 'csv-parse';
import type { EntityManager } from 'typeorm';
import { DomainError } from '../../common/errors/domain-error';
import type { AdminScope } from '../../common/guards/admin-scope';
import { TransactionRunner, uniqueViolationIndex } from '../../common/database/transaction-runner';
import type { UserEntity } from '../accounts/entities/user.entity';
import { type ImportedUserFields, UsersService } from '../accounts/users.service';
import { AuditService } from '../audit/audit.service';
import { OrgMembershipsService } from '../org/memberships.service';
import { OrgService } from '../org/org.service';
import {
  type CsvColumn,
  lineSpan,
  NotTextError,
  readHeader,
  readRow,
  type RowErrors,
  StrictUtf8,
} from './csv-format';

const BATCH = 500;
/** Bad rows reported at most; the rest are counted. */
const MAX_REPORTED = 1000;

export interface ImportOptions {
  dryRun: boolean;
  /** Every imported user joins this node (`d_…` or `g_…`). */
  nodeUid?: string;
  /** Called after each written batch of the second pass. */
  onProgress?: (done: number, total: number) => void;
  /** The caller's management scope (the CLI acts unrestricted). */
  scope: AdminScope;
}

export interface ImportSummary {
  dry_run: boolean;
  total: number;
  created: string[];
  updated: string[];
  unchanged: number;
}

interface Row {
  line: number;
  fields: ImportedUserFields;
}

function badFile(message: string): DomainError {
  return new DomainError('migration.bad_file', 400, { users: [message] });
}

/**
 * CSV user import in two streaming passes over a file on disk: the first checks every row (reporting
 * every bad one with its line) and writes nothing; the second writes all rows in one transaction, in
 * batches. Memory holds one batch plus the sets needed to find duplicates within the file.
 */
@Injectable()
export class CsvImportService {
  constructor(
    private readonly users: UsersService,
    private readonly memberships: OrgMembershipsService,
    private readonly org: OrgService,
    private readonly tx: TransactionRunner,
    private readonly audit: AuditService,
  ) {}

  /**
   * Sub-admins import into a node they manage (so every imported user stays in their scope) and may
   * update only users they manage; other existing usernames are row errors, as taken ones would be.
   */
  async importFile(path: string, options: ImportOptions): Promise<ImportSummary> {
    const { scope } = options;
    if (!scope.unrestricted && options.nodeUid === undefined) {
      throw new DomainError('migration.node_required', 400, {
        node_uid: ['Required: sub-admins import into a node they manage.'],
      });
    }
    const node = options.nodeUid === undefined ? null : await this.org.findByNodeUid(options.nodeUid);
    if (options.nodeUid !== undefined && (!node || !scope.managesNode(node.id)))
      throw new DomainError('common.not_found', 404, { detail: 'Not found.' });

    const total = await this.check(path, scope);
    const summary: ImportSummary = { dry_run: options.dryRun, total, created: [], updated: [], unchanged: 0 };
    if (options.dryRun) {
      await this.forEachBatch(path, async (rows) => {
        const existing = await this.existingByUsername(rows);
        for (const row of rows) this.classify(row, existing, summary);
      });
      return summary;
    }
    try {
      await this.tx.run(async (manager) => {
        let done = 0;
        await this.forEachBatch(path, async (rows) => {
          await this.writeBatch(manager, rows, summary, node?.id ?? null);
          done += rows.length;
          options.onProgress?.(done, total);
        });
        await this.audit.record(manager, {
          subject: 'user_import',
          summary:
            `CSV 导入用户 ${total} 行: 新建 ${summary.created.length}, 更新 ${summary.updated.length}, ` +
            `未变 ${summary.unchanged}${options.nodeUid === undefined ? '' : `, 加入 ${options.nodeUid}`}`,
          targetNodeId: node?.id ?? null,
        });
      });
    } catch (error) {
      if (uniqueViolationIndex(error) === null) throw error;
      // Another writer took an address between the check and the write; nothing was written.
      throw badFile(
        'A private_email or mobile in the file was taken while importing; nothing was written. Retry.',
      );
    }
    return summary;
  }

  /** Pass 1: every row valid, no duplicates within the file, no address held by another user. */
  private async check(path: string, scope: AdminScope): Promise<number> {
    const errors: Record<string, RowErrors> = {};
    let bad = 0;
    const report = (line: number, rowErrors: RowErrors) => {
      bad++;
      if (bad <= MAX_REPORTED) errors[String(line)] = rowErrors;
    };
    const seen: Record<'username' | 'private_email' | 'mobile', Set<string>> = {
      username: new Set(),
      private_email: new Set(),
      mobile: new Set(),
    };
    let total = 0;
    await this.forEachBatch(
      path,
      async (rows) => {
        const fresh: Row[] = [];
        for (const row of rows) {
          total++;
          const duplicates: RowErrors = {};
          for (const field of ['username', 'private_email', 'mobile'] as const) {
            const value = row.fields[field];
            if (value === undefined || value === null || value === '') continue;
            if (seen[field].has(value)) duplicates[field] = [`Duplicate ${field} in the file: ${value}.`];
            seen[field].add(value);
          }
          if (Object.keys(duplicates).length > 0) report(row.line, duplicates);
          else fresh.push(row);
        }
        for (const [line, rowErrors] of await this.conflicts(fresh, scope)) report(line, rowErrors);
      },
      report,
    );
    if (total === 0 && bad === 0) throw badFile('The file has a header but no rows.');
    if (bad > 0) {
      throw new DomainError('migration.bad_rows', 400, {
        ...errors,
        ...(bad > MAX_REPORTED ? { truncated: true, bad_rows: bad } : {}),
      });
    }
    return total;
  }

  /** Rows whose private_email or mobile belongs to another live user, or naming an unmanaged user. */
  private async conflicts(rows: Row[], scope: AdminScope): Promise<Map<number, RowErrors>> {
    const found = new Map<number, RowErrors>();
    if (rows.length === 0) return found;
    const existing = await this.users.liveIdsByUsername(rows.map((r) => r.fields.username));
    for (const row of rows) {
      const id = existing.get(row.fields.username);
      if (id !== undefined && !scope.managesUser(id)) found.set(row.line, { username: ['existed'] });
    }
    for (const field of ['private_email', 'mobile'] as const) {
      const values = rows
        .map((r) => r.fields[field])
        .filter((v): v is string => typeof v === 'string' && v !== '');
      const holders = await this.users.holdersOf(field, values);
      for (const row of rows) {
        const value = row.fields[field];
        if (typeof value !== 'string' || value === '') continue;
        const holder = holders.get(value);
        if (holder !== undefined && holder !== existing.get(row.fields.username)) {
          found.set(row.line, { ...found.get(row.line), [field]: ['existed'] });
        }
      }
    }
    return found;
  }

  private async writeBatch(
    manager: EntityManager,
    rows: Row[],
    summary: ImportSummary,
    nodeId: number | null,
  ): Promise<void> {
    const existing = await this.existingByUsername(rows, manager);
    const toCreate: ImportedUserFields[] = [];
    const written: { username: string; kind: 'create' | 'update' }[] = [];
    for (const row of rows) {
      const kind = this.classify(row, existing, summary);
      if (kind === 'create') toCreate.push(row.fields);
      if (kind !== 'same') written.push({ username: row.fields.username, kind });
      if (kind === 'update') {
        const user = existing.get(row.fields.username) as UserEntity;
        await this.users.updateImported(manager, user.id, this.users.importedChanges(user, row.fields) ?? {});
      }
    }
    if (toCreate.length > 0) await this.users.insertImported(manager, toCreate);
    const ids = toCreate.length > 0 ? await this.existingByUsername(rows, manager) : existing;
    if (nodeId !== null) {
      await this.memberships.addMembersWithin(
        manager,
        nodeId,
        rows.flatMap((r) => ids.get(r.fields.username)?.id ?? []),
      );
    }
    // One entry per user written, in one multi-row INSERT per batch; the import's summary entry follows.
    await this.audit.recordMany(
      manager,
      written.map((w) => ({
        subject: w.kind === 'create' ? 'user_create' : 'user_update',
        summary: `CSV 导入${w.kind === 'create' ? '创建' : '更新'}用户 ${w.username}`,
        targetUserId: ids.get(w.username)?.id ?? null,
      })),
    );
  }

  private classify(
    row: Row,
    existing: Map<string, UserEntity>,
    summary: ImportSummary,
  ): 'create' | 'update' | 'same' {
    const user = existing.get(row.fields.username);
    if (!user) {
      summary.created.push(row.fields.username);
      return 'create';
    }
    if (this.users.importedChanges(user, row.fields)) {
      summary.updated.push(row.fields.username);
      return 'update';
    }
    summary.unchanged++;
    return 'same';
  }

  private async existingByUsername(rows: Row[], manager?: EntityManager): Promise<Map<string, UserEntity>> {
    const users = await this.users.findLiveByUsernames(
      rows.map((r) => r.fields.username),
      manager,
    );
    return new Map(users.map((u) => [u.username, u]));
  }

  /**
   * Streams the file through strict UTF-8 decoding and csv-parse, hands valid rows on in batches, and
   * bad rows to `onBadRow` (or, without one, fails: the second pass only runs on checked files).
   */
  private async forEachBatch(
    path: string,
    onBatch: (rows: Row[]) => Promise<void>,
    onBadRow?: (line: number, errors: RowErrors) => void,
  ): Promise<void> {
    // pipeline (not pipe) so a decoding or read error destroys the parser and ends the loop below.
    const parser = pipeline(
      createReadStream(path),
      new StrictUtf8(),
      parse({ bom: true, raw: true, relax_column_count: true, max_record_size: 64 * 1024 }),
      () => undefined,
    );
    let columns: CsvColumn[] | null = null;
    let line = 1;
    let batch: Row[] = [];
    try {
      for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
        const start = line;
        line += lineSpan(raw);
        if (record.length === 1 && record[0].trim() === '') continue;
        if (!columns) {
          const header = readHeader(record);
          if ('error' in header) throw badFile(header.error);
          columns = header.columns;
          continue;
        }
        const row = readRow(columns, record);
        if ('errors' in row) {
          if (!onBadRow) throw new Error(`line ${start} changed between the passes`);
          onBadRow(start, row.errors);
          continue;
        }
        batch.push({ line: start, fields: row.fields });
        if (batch.length >= BATCH) {
          await onBatch(batch);
          batch = [];
        }
      }
    } catch (error) {
      if (error instanceof DomainError) throw error;
      if (error instanceof NotTextError) throw badFile(error.message);
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('CSV_')) {
        throw badFile(`Line ${line}: ${(error as Error).message}`);
      }
      throw error;
    }
    if (!columns) throw badFile('The file is empty: expected a header line.');
    if (batch.length > 0) await onBatch(batch);
  }
}
