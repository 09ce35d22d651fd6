import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Client as MinioClient } from 'minio';
import { DomainError } from '../../common/errors/domain-error';
import { API_MOUNTS } from '../../common/http/api-paths';
import { AppConfig } from '../../config/app-config';
import { SettingsService } from '../settings/settings.service';
import type { StorageConfig } from '../settings/site-config';
import { detectImage, mimeOfStoredName, STORED_NAME } from './image-type';

export type StoredFile =
  { kind: 'stream'; stream: Readable; size: number; contentType: string } | { kind: 'redirect'; url: string };

const PRESIGNED_SECONDS = 10 * 60;

const StorageErrors = {
  notImage: () =>
    new DomainError('storage.not_image', 400, { file: ['Upload a PNG, JPEG, GIF or WebP image.'] }),
  notFound: () => new DomainError('storage.not_found', 404, { detail: 'Not found.' }),
  unavailable: (reason: string) =>
    new DomainError('storage.unavailable', 400, { file: [`The file store cannot be reached: ${reason}`] }),
};

/**
 * Uploaded images (avatars, company logo) in the configured store: a local directory (FILE_STORAGE_DIR)
 * or a MinIO/S3 bucket. Names are generated (`<32 hex><ext>`); the content decides the type.
 */
@Injectable()
export class StorageService implements OnModuleInit {
  private readonly localDir: string;

  constructor(
    private readonly settings: SettingsService,
    config: AppConfig,
  ) {
    this.localDir = resolve(config.files.localDir);
  }

  onModuleInit(): void {
    // A bucket that does not exist yet is created; a wrong key or endpoint refuses the settings.
    this.settings.probe('storage', async (next) => {
      const client = minioClient(next);
      if (!(await client.bucketExists(next.bucket))) await client.makeBucket(next.bucket, next.location);
    });
  }

  /** Stores an image; returns its generated name. */
  async save(content: Buffer): Promise<string> {
    const type = detectImage(content);
    if (!type) throw StorageErrors.notImage();
    const name = `${randomBytes(16).toString('hex')}${type.ext}`;
    const storage = await this.settings.section('storage');
    if (storage.method === 'minio') {
      try {
        await minioClient(storage).putObject(storage.bucket, name, content, content.length, {
          'Content-Type': type.mime,
        });
      } catch (error) {
        throw StorageErrors.unavailable(error instanceof Error ? error.message : String(error));
      }
      return name;
    }
    await mkdir(this.localDir, { recursive: true });
    const draft = join(this.localDir, `.${name}.part`);
    await writeFile(draft, content, { mode: 0o640 });
    await rename(draft, join(this.localDir, name));
    return name;
  }

  /** A stored file: streamed from the local directory, or a short-lived presigned URL into the bucket. */
  /**
   * Where a browser fetches an image named by a user or company field: a stored file's path on this
   * server (`/siteapi/v1/service/file/<name>`), an https URL as it is (a directory sync's avatar), or
   * null for anything else.
   */
  linkTo(value: string): string | null {
    if (STORED_NAME.test(value)) return `/${API_MOUNTS[0]}/service/file/${value}`;
    return /^https:\/\/[^\s]+$/.test(value) ? value : null;
  }

  async open(name: string): Promise<StoredFile> {
    if (!STORED_NAME.test(name)) throw StorageErrors.notFound();
    const storage = await this.settings.section('storage');
    if (storage.method === 'minio') {
      const client = minioClient(storage);
      try {
        await client.statObject(storage.bucket, name);
      } catch {
        throw StorageErrors.notFound();
      }
      return {
        kind: 'redirect',
        url: await client.presignedGetObject(storage.bucket, name, PRESIGNED_SECONDS),
      };
    }
    const path = join(this.localDir, name);
    try {
      const info = await stat(path);
      return {
        kind: 'stream',
        stream: createReadStream(path),
        size: info.size,
        contentType: mimeOfStoredName(name),
      };
    } catch {
      throw StorageErrors.notFound();
    }
  }
}

function minioClient(storage: StorageConfig): MinioClient {
  const [host, port] = storage.end_point.split(':');
  return new MinioClient({
    endPoint: host,
    port: port ? Number(port) : undefined,
    useSSL: storage.secure,
    accessKey: storage.access_key,
    secretKey: storage.secret_key,
    region: storage.location || undefined,
  });
}
