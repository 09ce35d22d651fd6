import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';
import { portable } from './portable';

/** OIDC Back-Channel Logout 1.0: an OAuth/OIDC client's logout URI and whether its logout token needs `sid`. */
export class BackchannelLogout1764500000000 implements MigrationInterface {
  name = 'BackchannelLogout1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    await queryRunner.addColumns('app_clients', [
      new TableColumn(c.string('backchannel_logout_uri', 1024, { default: "''" })),
      new TableColumn(c.boolean('backchannel_logout_session_required', false)),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('app_clients', 'backchannel_logout_session_required');
    await queryRunner.dropColumn('app_clients', 'backchannel_logout_uri');
  }
}
