import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppConfig } from '../../config/app-config';
import { DomainError } from '../../common/errors/domain-error';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { UsersService } from './users.service';

export const BOOTSTRAP_ADMIN_USERNAME = 'admin';

/** A password that meets the policy: 24 characters from an unambiguous alphabet, with letters and digits. */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  for (;;) {
    const bytes = randomBytes(24);
    const password = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
    if (/[A-Za-z]/.test(password) && /\d/.test(password)) return password;
  }
}

/**
 * On an empty database, creates the superuser `admin`. Its password is ADMIN_PASSWORD, or a random one
 * written once to standard error (never to the structured log) and to be changed at first sign-in.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  constructor(
    private readonly users: UsersService,
    private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if ((await this.users.countLiveUsers()) > 0) return;
    const given = this.config.adminPassword;
    const password = given ?? generatePassword();
    try {
      await this.users.createSuperuser(BOOTSTRAP_ADMIN_USERNAME, password, given === undefined);
    } catch (error) {
      if (error instanceof DomainError) {
        throw new Error(`ADMIN_PASSWORD is not acceptable: ${JSON.stringify(error.body)}`, { cause: error });
      }
      throw error;
    }
    this.logger.info({ username: BOOTSTRAP_ADMIN_USERNAME }, 'created the initial superuser');
    if (given === undefined) {
      process.stderr.write(
        [
          '',
          '================================================================',
          ` Arbor created the superuser "${BOOTSTRAP_ADMIN_USERNAME}".`,
          ` Initial password: ${password}`,
          ' It is shown only this once and must be changed at first sign-in.',
          '================================================================',
          '',
        ].join('\n') + '\n',
      );
    }
  }
}
