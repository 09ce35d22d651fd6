import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

/** The lookup indexes of oidc_payloads whose column most artifacts leave empty. */
const SPARSE = [
  { name: 'ix_oidc_payloads_grant', columnNames: ['model', 'grant_id'], column: 'grant_id' },
  { name: 'ix_oidc_payloads_uid', columnNames: ['model', 'uid'], column: 'uid' },
  { name: 'ix_oidc_payloads_user_code', columnNames: ['model', 'user_code'], column: 'user_code' },
  { name: 'ix_oidc_payloads_account', columnNames: ['account_id'], column: 'account_id' },
];

/**
 * On SQLite, those indexes leave out the rows without a value (client-credentials tokens have none of
 * them; only interactions and sessions have a uid): every index an autocommitted insert touches is
 * another page written to the WAL and checkpointed, about 15 µs each of the single writer's time. The
 * adapter looks them up with `=`, which the planner knows excludes NULL. MySQL/MariaDB has no partial
 * indexes, and InnoDB's change buffer makes those entries cheap, so nothing changes there.
 */
export class OidcPartialIndexes1764750000000 implements MigrationInterface {
  name = 'OidcPartialIndexes1764750000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.rebuild(queryRunner, true);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.rebuild(queryRunner, false);
  }

  private async rebuild(queryRunner: QueryRunner, partial: boolean): Promise<void> {
    if (queryRunner.connection.options.type !== 'better-sqlite3') return;
    for (const { name, columnNames, column } of SPARSE) {
      await queryRunner.dropIndex('oidc_payloads', name);
      await queryRunner.createIndex(
        'oidc_payloads',
        new TableIndex({ name, columnNames, where: partial ? `${column} IS NOT NULL` : undefined }),
      );
    }
  }
}
