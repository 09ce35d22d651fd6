import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../src/config/app-config';
import { createDataSource } from '../src/database/data-source';

/**
 * `npm run db:generate -- <Name>`: diffs the entities against the configured (migrated) database and
 * writes the SQL TypeORM proposes. That SQL is specific to one driver; rewrite it with the Table API
 * helpers in src/database/migrations/portable.ts before committing, so it runs on SQLite and MySQL alike.
 */
async function main(name: string | undefined): Promise<number> {
  if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
    console.error('Usage: npm run db:generate -- <PascalCaseName>');
    return 2;
  }
  const dataSource = createDataSource(AppConfig.fromEnvironment());
  await dataSource.initialize();
  try {
    if (await dataSource.showMigrations()) {
      console.error('The database has pending migrations: run `npm run db:migrate` first.');
      return 1;
    }
    const log = await dataSource.driver.createSchemaBuilder().log();
    if (log.upQueries.length === 0) {
      console.log('No changes in the entities: nothing to generate.');
      return 0;
    }
    const timestamp = Date.now();
    const kebab = name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
    const file = join('src/database/migrations', `${timestamp}-${kebab}.ts`);
    const lines = (queries: { query: string }[]) =>
      queries.map((q) => `    await queryRunner.query(${JSON.stringify(q.query)});`).join('\n');
    writeFileSync(
      file,
      `import type { MigrationInterface, QueryRunner } from 'typeorm';

// Generated for ${dataSource.options.type}. Before committing: rewrite with the portable Table API helpers
// (./portable.ts) so it runs on SQLite and MySQL/MariaDB, and add it to MIGRATIONS in data-source.ts.
export class ${name}${timestamp} implements MigrationInterface {
  name = '${name}${timestamp}';

  async up(queryRunner: QueryRunner): Promise<void> {
${lines(log.upQueries)}
  }

  async down(queryRunner: QueryRunner): Promise<void> {
${lines([...log.downQueries].reverse())}
  }
}
`,
    );
    console.log(`Wrote ${file}`);
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
