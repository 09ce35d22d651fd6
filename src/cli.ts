import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { createRootLogger, PinoNestLogger } from './common/logging/logger';
import { AppConfig } from './config/app-config';
import { ConfigValidationError } from './config/config.schema';
import { createDataSource } from './database/data-source';
import { generatePassword } from './modules/accounts/admin-bootstrap.service';
import { UsersService } from './modules/accounts/users.service';
import { AuthService } from './modules/auth/auth.service';
import { DomainError } from './common/errors/domain-error';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  migrate                               apply pending database migrations
  revert                                undo the most recent migration
  create-superuser --username <name>    create an admin (or make an existing user one)
                   [--password <pw>]    without --password, a random one is generated and printed
  reset-password   --username <name>    set a new password and end the user's sessions
                   [--password <pw>]
  unlock           --username <name>    clear failed-login counters and any lock
`;

/* eslint-disable no-console -- this is the command-line interface; its output is for the operator. */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { username: { type: 'string' }, password: { type: 'string' }, help: { type: 'boolean' } },
  });
  const command = positionals[0];
  if (!command || values.help) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const config = AppConfig.fromEnvironment();

  if (command === 'migrate' || command === 'revert') {
    const dataSource = createDataSource(config);
    await dataSource.initialize();
    try {
      if (command === 'migrate') {
        const applied = await dataSource.runMigrations({ transaction: 'each' });
        console.log(
          applied.length ? `Applied: ${applied.map((m) => m.name).join(', ')}` : 'Nothing to migrate.',
        );
      } else {
        await dataSource.undoLastMigration({ transaction: 'each' });
        console.log('Reverted the most recent migration.');
      }
    } finally {
      await dataSource.destroy();
    }
    return 0;
  }

  const username = values.username;
  if (!['create-superuser', 'reset-password', 'unlock'].includes(command)) {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }
  if (!username) {
    console.error(`${command} needs --username.`);
    return 2;
  }
  const logger = createRootLogger('warn');
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
  });
  try {
    const users = app.get(UsersService);
    const generated = values.password === undefined && command !== 'unlock';
    const password = values.password ?? generatePassword();
    if (command === 'create-superuser') {
      await users.createSuperuser(username, password, generated);
      console.log(`Superuser "${username}" is ready.`);
    } else if (command === 'reset-password') {
      await users.resetPasswordFromCli(username, password);
      console.log(`Password of "${username}" changed; its sessions have ended.`);
    } else {
      await app.get(AuthService).unlock(username);
      console.log(`"${username}" is unlocked.`);
    }
    if (generated) console.log(`Password: ${password}\n(shown once; change it after signing in)`);
    return 0;
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigValidationError) console.error(error.message);
    else if (error instanceof DomainError) console.error(`Refused: ${JSON.stringify(error.body)}`);
    else console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
