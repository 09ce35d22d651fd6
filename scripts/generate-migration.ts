import 'reflect-metadata';
import { existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { AppConfig } from '../src/config/app-config';
import { createDataSource } from '../src/database/data-source';

/**
 * `npm run db:generate -- <Name>`: diffs the entities against the configured, fully migrated database and
 * writes the SQL TypeORM proposes to src/database/migrations/<timestamp>-<kebab-name>.ts.
 *
 * It only reads the database (TypeORM's schema diff runs in "SQL memory" mode). The SQL it writes is for
 * one driver: rewrite it with the Table API helpers in src/database/migrations/portable.ts before
 * committing, so the migration runs on SQLite and MySQL/MariaDB alike.
 */
const USAGE = `Usage: npm run db:generate -- <Name>

  <Name>  PascalCase, e.g. AddUserDepartments (letters and digits, starting with a capital)

Diffs the entities against the database named by DATABASE_URL (or SQLITE_PATH), which must be
migrated first (npm run db:migrate), and writes src/database/migrations/<timestamp>-<kebab-name>.ts.`;

const NAME_PATTERN = /^[A-Z][A-Za-z0-9]+$/;
const MIGRATIONS_DIR = join(__dirname, '..', 'src', 'database', 'migrations');
const MIGRATE_HINT =
  'Run `npm run db:migrate` (with the same DATABASE_URL / SQLITE_PATH) first, then generate again.';

interface Query {
  query: string;
  parameters?: unknown[];
}

async function main(args: string[]): Promise<number> {
  const name = args[0];
  if (!name) {
    console.error(USAGE);
    return 2;
  }
  if (!NAME_PATTERN.test(name) || args.length > 1) {
    console.error(`Invalid migration name "${args.join(' ')}".\n\n${USAGE}`);
    return 2;
  }

  const config = AppConfig.fromEnvironment();
  // Opening a missing SQLite file would create it; an empty database has nothing meaningful to diff against.
  if (config.database.kind === 'sqlite' && config.database.path !== ':memory:') {
    if (!existsSync(config.database.path)) {
      console.error(`No SQLite database at ${config.database.path}. ${MIGRATE_HINT}`);
      return 1;
    }
  }

  const dataSource = createDataSource(config);
  await dataSource.initialize();
  try {
    const migrationsTable = dataSource.options.migrationsTableName ?? 'migrations';
    const queryRunner = dataSource.createQueryRunner();
    const migrated = await queryRunner.hasTable(migrationsTable).finally(() => queryRunner.release());
    // showMigrations() would create the migrations table if it were missing: check for it first.
    if (!migrated || (await dataSource.showMigrations())) {
      console.error(`The database has pending migrations, so the diff would be meaningless. ${MIGRATE_HINT}`);
      return 1;
    }

    const log = await dataSource.driver.createSchemaBuilder().log();
    if (log.upQueries.length === 0) {
      console.log('No changes in the entities: nothing to generate.');
      return 0;
    }

    const timestamp = Date.now();
    const className = `${name}${timestamp}`;
    const file = join(MIGRATIONS_DIR, `${timestamp}-${kebabCase(name)}.ts`);
    const source = render({
      className,
      driver: String(dataSource.options.type),
      up: log.upQueries,
      // As TypeORM's own generator does: undo in the reverse order of the changes.
      down: [...log.downQueries].reverse(),
    });
    writeFileSync(file, source, { flag: 'wx' });
    console.log(
      `Wrote ${relative(process.cwd(), file)} (${log.upQueries.length} statement(s), ${dataSource.options.type}).`,
    );
    console.log(
      'Before committing: rewrite it with src/database/migrations/portable.ts and add it to MIGRATIONS in src/database/data-source.ts.',
    );
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

/** AddUserDepartments -> add-user-departments, SSOClients -> sso-clients. */
function kebabCase(name: string): string {
  return name
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

/** The SQL as a template literal body: backslashes, backticks and `${` are escaped, as TypeORM does. */
function templateLiteral(sql: string): string {
  return '`' + sql.replaceAll('\\', '\\\\').replaceAll('`', '\\`').replaceAll('${', '\\${') + '`';
}

function statements(queries: Query[]): string {
  return queries
    .map((q) => {
      const parameters = q.parameters?.length ? `, ${JSON.stringify(q.parameters)}` : '';
      return `    await queryRunner.query(${templateLiteral(q.query)}${parameters});`;
    })
    .join('\n');
}

function render(m: { className: string; driver: string; up: Query[]; down: Query[] }): string {
  const runner = (queries: Query[]) => (queries.length ? 'queryRunner' : '_queryRunner');
  return `import type { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * ============================================================================================
 * GENERATED FOR ${m.driver.toUpperCase()} ONLY by \`npm run db:generate\`. DO NOT COMMIT AS IS.
 *
 * Before committing:
 *   1. Rewrite up() and down() with TypeORM's Table API and the portable column helpers in
 *      ./portable.ts (see 1763800000000-foundation.ts), so the migration runs on both SQLite
 *      and MySQL/MariaDB. The raw SQL below is specific to ${m.driver}.
 *   2. Add ${m.className} to MIGRATIONS in src/database/data-source.ts.
 *   3. Run the e2e suites (npm run test:e2e:sqlite and npm run test:e2e:mariadb): they check
 *      that the migrations produce exactly the entities' schema on both databases.
 * ============================================================================================
 */
export class ${m.className} implements MigrationInterface {
  name = '${m.className}';

  async up(${runner(m.up)}: QueryRunner): Promise<void> {
${statements(m.up)}
  }

  async down(${runner(m.down)}: QueryRunner): Promise<void> {
${statements(m.down)}
  }
}
`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
