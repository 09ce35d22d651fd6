import busboy from 'busboy';
import type { Request } from 'express';
import { DomainError } from '../../common/errors/domain-error';

/** Reads the multipart part `file` into memory, refusing more than `maxBytes` (images are small). */
export async function receiveImage(req: Request, maxBytes: number): Promise<Buffer> {
  if (!req.is('multipart/form-data')) {
    throw new DomainError('storage.not_multipart', 400, { file: ['Send the file as multipart/form-data.'] });
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = false;
    let tooLarge = false;
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: maxBytes, files: 1, fields: 10 } });
    } catch {
      reject(
        new DomainError('storage.bad_multipart', 400, { file: ['The multipart body could not be read.'] }),
      );
      return;
    }
    parser.on('file', (name, stream) => {
      if (name !== 'file' || received) {
        stream.resume();
        return;
      }
      received = true;
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => {
        tooLarge = true;
      });
    });
    parser.on('error', () =>
      reject(
        new DomainError('storage.bad_multipart', 400, { file: ['The multipart body could not be read.'] }),
      ),
    );
    parser.on('close', () => {
      if (tooLarge) {
        reject(
          new DomainError('storage.too_large', 413, {
            detail: `The file is larger than ${Math.round((maxBytes / 1024 / 1024) * 10) / 10} MB.`,
          }),
        );
      } else if (!received) {
        reject(new DomainError('storage.no_file', 400, { file: ['No file was submitted.'] }));
      } else {
        resolve(Buffer.concat(chunks));
      }
    });
    req.pipe(parser);
  });
}
