import { Transform, type TransformCallback } from 'node:stream';
import { isEmail } from 'class-validator';
import { MOBILE_PATTERN, USERNAME_PATTERN } from '../accounts/dto/user-input.dto';
import type { ImportedUserFields } from '../accounts/users.service';

/** The contract's columns, in export order. */
export const CSV_COLUMNS = [
  'username',
  'name',
  'email',
  'private_email',
  'mobile',
  'gender',
  'avatar',
  'position',
  'employee_number',
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

const MAX_LENGTH: Partial<Record<CsvColumn, number>> = {
  name: 255,
  avatar: 255,
  position: 255,
  employee_number: 64,
};

export type RowErrors = Record<string, string[]>;

/** The header names the columns the file carries: `username` and any of the others, in any order. */
export function readHeader(record: string[]): { columns: CsvColumn[] } | { error: string } {
  const columns = record.map((name) => name.trim().toLowerCase());
  const unknown = columns.filter((c) => !(CSV_COLUMNS as readonly string[]).includes(c));
  if (unknown.length > 0) {
    return { error: `Unknown column(s) ${unknown.join(', ')}; expected: ${CSV_COLUMNS.join(', ')}.` };
  }
  const repeated = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (repeated.length > 0) return { error: `Repeated column(s): ${repeated.join(', ')}.` };
  if (!columns.includes('username')) return { error: 'The header must name a username column.' };
  return { columns: columns as CsvColumn[] };
}

/** One data row checked by the same rules as the user API; empty optional cells mean "none". */
export function readRow(
  columns: CsvColumn[],
  record: string[],
): { fields: ImportedUserFields } | { errors: RowErrors } {
  const errors: RowErrors = {};
  const add = (field: string, message: string) => (errors[field] ??= []).push(message);
  if (record.length !== columns.length) {
    add('non_field_errors', `Expected ${columns.length} fields, found ${record.length}.`);
    return { errors };
  }
  const cell = (column: CsvColumn): string | undefined => {
    const index = columns.indexOf(column);
    return index === -1 ? undefined : record[index].trim();
  };
  const fields: ImportedUserFields = { username: cell('username') ?? '' };
  if (!USERNAME_PATTERN.test(fields.username)) {
    add('username', 'Enter a valid username: 4 to 32 lowercase letters or digits.');
  }
  for (const column of ['name', 'avatar', 'position', 'employee_number'] as const) {
    const value = cell(column);
    if (value === undefined) continue;
    const max = MAX_LENGTH[column] ?? 255;
    if (value.length > max) add(column, `Ensure this field has no more than ${max} characters.`);
    else fields[column] = value;
  }
  for (const column of ['email', 'private_email'] as const) {
    const raw = cell(column);
    if (raw === undefined) continue;
    const value = raw.toLowerCase();
    if (value !== '' && (value.length > 254 || !isEmail(value))) add(column, 'Enter a valid email address.');
    else fields[column] = value;
  }
  const mobile = cell('mobile');
  if (mobile !== undefined) {
    if (mobile !== '' && !MOBILE_PATTERN.test(mobile)) {
      add('mobile', 'Enter a valid mobile number: 1XXXXXXXXXX or +<country code> <digits>.');
    } else fields.mobile = mobile;
  }
  const gender = cell('gender');
  if (gender !== undefined) {
    if (gender === '') fields.gender = 0;
    else if (/^[0-2]$/.test(gender)) fields.gender = Number(gender);
    else add('gender', 'Must be one of: 0, 1, 2.');
  }
  return Object.keys(errors).length > 0 ? { errors } : { fields };
}

/** How many lines a record took, from csv-parse's `raw` text (LF kept, or CRLF's CR kept). */
export function lineSpan(raw: string): number {
  let lines = 0;
  for (const char of raw) if (char === '\n') lines++;
  return lines + (raw.endsWith('\r') ? 1 : 0);
}

/** Thrown when the bytes are not text: a NUL byte or invalid UTF-8. */
export class NotTextError extends Error {}

/** Decodes strict UTF-8 (a BOM is left for csv-parse to drop) and refuses binary input. */
export class StrictUtf8 extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor() {
    super({ decodeStrings: true, readableObjectMode: false, encoding: 'utf8' });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (chunk.includes(0))
        throw new NotTextError('The file contains NUL bytes: it is not a CSV text file.');
      callback(null, this.decoder.decode(chunk, { stream: true }));
    } catch (error) {
      callback(error instanceof NotTextError ? error : new NotTextError('The file is not valid UTF-8 text.'));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      callback(null, this.decoder.decode());
    } catch {
      callback(new NotTextError('The file is not valid UTF-8 text.'));
    }
  }
}
