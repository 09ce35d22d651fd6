import 'reflect-metadata';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { AppModule } from './app.module';
import { createRootLogger, PinoNestLogger } from './common/logging/logger';
import { AppConfig } from './config/app-config';
import { ConfigValidationError } from './config/config.schema';
import { createDataSource } from './database/data-source';
import { generatePassword } from './modules/accounts/admin-bootstrap.service';
import { UsersService } from './modules/accounts/users.service';
import { AuthService } from './modules/auth/auth.service';
import { DomainError } from './common/errors/domain-error';
import { UNRESTRICTED_SCOPE } from './common/guards/admin-scope';
import { ProgressBar } from './common/cli/progress-bar';
import { CsvExportService } from './modules/migration/csv-export.service';
import { CsvImportService, type ImportSummary } from './modules/migration/csv-import.service';
import { AuditService } from './modules/audit/audit.service';
import { SigningKeysService } from './modules/oidc/signing-keys.service';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  migrate                               apply pending database migrations
  revert                                undo the most recent migration
  create-superuser --username <name>    create an admin (or make an existing user one)
                   [--password <pw>]    without --password, a random one is generated and printed
  reset-password   --username <name>    set a new password and end the user's sessions
                   [--password <pw>]
  unlock           --username <name>    clear failed-login counters and any lock
  import-users     <file.csv>           create or update users from a CSV file, as the HTTP import does:
                   [--dry-run]          every row is checked first; nothing is written if one is bad
                   [--node-uid <uid>]   every imported user joins this department or group (d_…, g_…)
  export-users     [--output <file>]    every user as CSV (UTF-8 with BOM), to the file or stdout
  purge-audit-log                       delete audit log entries older than AUDIT_RETENTION_DAYS
  rotate-signing-key                    new OAuth/OIDC token signing key; the old one stays published
                                        (verifying) until every token it signed has expired
`;

const APP_COMMANDS = [
  'create-superuser',
  'reset-password',
  'unlock',
  'import-users',
  'export-users',
  'purge-audit-log',
  'rotate-signing-key',
];

/* eslint-disable no-console -- this is the command-line interface; its output is for the operator. */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      username: { type: 'string' },
      password: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'node-uid': { type: 'string' },
      output: { type: 'string' },
      help: { type: 'boolean' },
    },
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

  if (!APP_COMMANDS.includes(command)) {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }
  if (command === 'import-users') {
    const file = positionals[1];
    if (!file || positionals.length > 2) {
      console.error('import-users needs one CSV file: npm run cli -- import-users <file.csv>');
      return 2;
    }
    const options = { dryRun: values['dry-run'] ?? false, nodeUid: values['node-uid'] };
    return withApp(config, (app) => importUsers(app, file, options));
  }
  if (command === 'export-users') return withApp(config, (app) => exportUsers(app, values.output));

  if (command === 'purge-audit-log') {
    if (config.audit.retentionDays === 0) {
      console.log('AUDIT_RETENTION_DAYS is 0 (keep forever): nothing to purge.');
      return 0;
    }
    return withApp(config, async (app) => {
      const deleted = await app.get(AuditService).purgeExpired();
      console.log(`Deleted ${deleted} audit log entries older than ${config.audit.retentionDays} days.`);
      return 0;
    });
  }

  if (command === 'rotate-signing-key') {
    return withApp(config, async (app) => {
      const { kid, retired, deleted } = await app.get(SigningKeysService).rotate();
      console.log(`Signing with key ${kid}; every replica switches on its next OAuth request.`);
      if (retired.length > 0)
        console.log(`Retired (still published until their tokens expire): ${retired.join(', ')}`);
      if (deleted.length > 0) console.log(`Deleted (their tokens have expired): ${deleted.join(', ')}`);
      return 0;
    });
  }

  const username = values.username;
  if (!username) {
    console.error(`${command} needs --username.`);
    return 2;
  }
  return withApp(config, async (app) => {
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
      await app.get(AuthService).unlock(username, UNRESTRICTED_SCOPE);
      console.log(`"${username}" is unlocked.`);
    }
    if (generated) console.log(`Password: ${password}\n(shown once; change it after signing in)`);
    return 0;
  });
}

/** Runs `work` in the application (no HTTP listener) and closes it after. */
async function withApp(
  config: AppConfig,
  work: (app: INestApplicationContext) => Promise<number>,
): Promise<number> {
  // Logs go to stderr: stdout carries the command's output (export-users writes the CSV there).
  const logger = createRootLogger('warn', pino.destination(2));
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
  });
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

async function importUsers(
  app: INestApplicationContext,
  file: string,
  options: { dryRun: boolean; nodeUid?: string },
): Promise<number> {
  console.error(`Checking ${file}…`);
  const progress = new ProgressBar(process.stderr, 'Writing users');
  let summary: ImportSummary;
  try {
    summary = await app.get(CsvImportService).importFile(file, {
      ...options,
      // The CLI is the operator at the machine: no sub-admin scope applies.
      scope: UNRESTRICTED_SCOPE,
      onProgress: (done, total) => progress.update(done, total),
    });
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    if (error.code === 'migration.bad_rows') printBadRows(error.body);
    else if (error.code === 'common.not_found') console.error(`No department or group ${options.nodeUid}.`);
    else throw error;
    return 1;
  } finally {
    progress.finish();
  }
  const { total, created, updated, unchanged } = summary;
  console.log(
    options.dryRun
      ? `Dry run, nothing written: ${total} rows; would create ${created.length}, update ${updated.length}, leave ${unchanged} unchanged.`
      : `Imported ${total} rows: created ${created.length}, updated ${updated.length}, unchanged ${unchanged}.`,
  );
  return 0;
}

/** One line per bad row: its line number in the file and what is wrong, as the HTTP import reports it. */
function printBadRows(body: Record<string, unknown>): void {
  const { truncated, bad_rows: badRows, ...rows } = body;
  const lines = Object.entries(rows).sort(([a], [b]) => Number(a) - Number(b));
  for (const [line, errors] of lines) {
    const reasons = Object.entries(errors as Record<string, string[]>)
      .map(([field, messages]) => `${field}: ${messages.join(' ')}`)
      .join('; ');
    console.error(`line ${line}: ${reasons}`);
  }
  const count = truncated === true ? Number(badRows) : lines.length;
  console.error(
    `${count} bad row(s)${truncated === true ? ` (the first ${lines.length} listed)` : ''}; nothing was written.`,
  );
}

async function exportUsers(app: INestApplicationContext, output: string | undefined): Promise<number> {
  const csv = await app.get(CsvExportService).export(undefined, UNRESTRICTED_SCOPE);
  if (output === undefined) await pipeline(csv, process.stdout, { end: false });
  else {
    await pipeline(csv, createWriteStream(output));
    console.error(`Exported the users to ${output}.`);
  }
  return 0;
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
