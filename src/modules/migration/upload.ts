import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Request } from 'express';
import { DomainError } from '../../common/errors/domain-error';

export const MAX_UPLOAD_BYTES = 200 * 1024 * 1024;

export interface Upload {
  /** The file part, streamed to a private temporary directory. */
  path: string;
  fields: Record<string, string>;
  /** Removes the temporary directory; call in `finally`. */
  discard(): Promise<void>;
}

/** Streams a multipart request's file part `field` to disk (never into memory) and collects its text fields. */
export async function receiveUpload(req: Request, field: string): Promise<Upload> {
  if (!req.is('multipart/form-data')) {
    throw new DomainError('migration.not_multipart', 400, {
      [field]: ['Send the file as multipart/form-data.'],
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'arbor-upload-'));
  const path = join(dir, 'upload');
  const discard = () => rm(dir, { recursive: true, force: true });
  try {
    const fields: Record<string, string> = {};
    let received = false;
    let tooLarge = false;
    let writing: Promise<void> = Promise.resolve();
    const parser = busboy({
      headers: req.headers,
      limits: { fileSize: MAX_UPLOAD_BYTES, files: 1, fields: 20 },
    });
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, stream) => {
      if (name !== field || received) {
        stream.resume();
        return;
      }
      received = true;
      stream.on('limit', () => {
        tooLarge = true;
      });
      writing = pipeline(stream, createWriteStream(path));
    });
    await pipeline(req, parser);
    await writing;
    if (tooLarge) {
      throw new DomainError('migration.too_large', 413, {
        detail: `The file is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB.`,
      });
    }
    if (!received) throw new DomainError('migration.no_file', 400, { [field]: ['No file was submitted.'] });
    return { path, fields, discard };
  } catch (error) {
    await discard();
    if (error instanceof DomainError) throw error;
    throw new DomainError('migration.bad_multipart', 400, {
      [field]: ['The multipart body could not be read.'],
    });
  }
}
