import { type MigrationInterface, type QueryRunner, TableColumn, TableIndex } from 'typeorm';

/** The account each OAuth artifact belongs to, so a password change or a disabled user ends them all. */
export class OidcAccounts1764320000000 implements MigrationInterface {
  name = 'OidcAccounts1764320000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'oidc_payloads',
      new TableColumn({ name: 'account_id', type: 'varchar', length: '64', isNullable: true }),
    );
    await queryRunner.createIndex(
      'oidc_payloads',
      new TableIndex({ name: 'ix_oidc_payloads_account', columnNames: ['account_id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('oidc_payloads', 'ix_oidc_payloads_account');
    await queryRunner.dropColumn('oidc_payloads', 'account_id');
  }
}
