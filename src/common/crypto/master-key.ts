import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ROOT_LOGGER } from '../logging/logging.module';
import { AppConfig } from '../../config/app-config';
import { randomToken } from './secrets';

/**
 * The master key behind every secret Arbor keeps at rest: SECRET_KEY, or else a random key in
 * SECRET_KEY_FILE, written on first start (mode 0600) so a single machine needs no setup. Replicas
 * must share it: set SECRET_KEY (or ship the same file) on every one.
 */
@Injectable()
export class MasterKey {
  readonly value: string;

  constructor(config: AppConfig, @Inject(ROOT_LOGGER) logger: Logger) {
    this.value = config.secretKey.value ?? readOrCreate(config.secretKey.file);
    if (config.secretKey.value === undefined && config.database.kind === 'mysql') {
      // A shared database usually means several replicas; each would mint its own key file and be
      // unable to open what the others sealed.
      logger.warn(
        { setting: 'SECRET_KEY', key_file: config.secretKey.file },
        'SECRET_KEY is not set: using a key file. Every replica on this database must share it; set SECRET_KEY.',
      );
    }
  }
}

function readOrCreate(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(file), { recursive: true });
  // Written whole under a private name, then linked into place: a reader never sees a partial file,
  // and when two processes start together the first link wins and both use that key.
  const draft = `${file}.${process.pid}.tmp`;
  writeFileSync(draft, `${randomToken(32)}\n`, { mode: 0o600 });
  try {
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(draft);
  }
  return readFileSync(file, 'utf8').trim();
}
