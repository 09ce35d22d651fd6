import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';
import { portable } from './portable';

/** First-party clients (ArkID's `skip_authorization`): their users are not asked for consent. */
export class ClientSkipAuthorization1764800000000 implements MigrationInterface {
  name = 'ClientSkipAuthorization1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    await queryRunner.addColumn('app_clients', new TableColumn(c.boolean('skip_authorization', false)));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('app_clients', 'skip_authorization');
  }
}
