import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { subjectLabel } from './audit-subjects';
import type { StoredEntry } from './audit.repository';

export const AUDIT_CSV_COLUMNS = [
  'uuid',
  'created',
  'subject',
  'subject_verbose',
  'summary',
  'username',
  'name',
  'ip',
  'os',
  'browser',
  'user_agent',
  'method',
  'url',
  'request_id',
] as const;

/**
 * A cell a spreadsheet would read as a formula (=, +, -, @, or a leading tab or carriage return) is
 * prefixed with an apostrophe, so an entry's text can never run in the reader's Excel.
 */
export function safeCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** The export as UTF-8 CSV with a BOM and CRLF lines (for Excel), streamed batch by batch. */
export function auditCsv(batches: AsyncIterable<StoredEntry[]>, formatDate: (d: Date) => string): Readable {
  async function* records(): AsyncGenerator<string[]> {
    for await (const batch of batches) {
      for (const e of batch) {
        yield [
          e.uuid,
          formatDate(e.createdAt),
          e.subject,
          subjectLabel(e.subject),
          e.summary,
          e.actorUsername || 'unknown',
          e.actorUsername ? e.actorName : 'unknown',
          e.ip,
          e.os,
          e.browser,
          e.userAgent,
          e.method,
          e.path,
          e.requestId,
        ].map(safeCell);
      }
    }
  }
  const csv = stringify({
    header: true,
    columns: [...AUDIT_CSV_COLUMNS],
    bom: true,
    record_delimiter: '\r\n',
  });
  const source = Readable.from(records());
  source.on('error', (error) => csv.destroy(error));
  return source.pipe(csv);
}
