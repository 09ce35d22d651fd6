import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';
import { portable } from './portable';

/**
 * DingTalk directory sync: the app's configuration (secrets as ciphertext), and the stable mapping of
 * DingTalk ids to Arbor users and nodes, with a hash of what was last seen upstream so that a sync with
 * no upstream change writes nothing.
 */
export class DingTalk1764250000000 implements MigrationInterface {
  name = 'DingTalk1764250000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    const { utf8 } = c;
    await queryRunner.createTable(
      new Table({
        name: 'ding_config',
        columns: [
          c.id(),
          c.string('app_key', 128, { default: "''" }),
          c.string('app_secret_enc', 512, { default: "''" }),
          c.string('corp_id', 128, { default: "''" }),
          c.string('qr_app_id', 128, { default: "''" }),
          c.string('qr_app_secret_enc', 512, { default: "''" }),
          c.boolean('app_valid', false),
          c.boolean('qr_app_valid', false),
          c.string('leaver_policy', 16, { default: "'disable'" }),
          c.int('leaver_delete_days', { default: 30 }),
          c.updatedAt(),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'ding_users',
        columns: [
          c.string('ding_userid', 64, { isPrimary: true }),
          c.int('user_id'),
          c.string('unionid', 64, { default: "''" }),
          c.string('data_hash', 64, { default: "''" }),
          { name: 'data', type: 'text', isNullable: true, ...utf8 },
          c.datetime('left_at', { precision: 3, isNullable: true }),
          c.boolean('disabled_by_sync', false),
        ],
        indices: [
          new TableIndex({ name: 'uq_ding_users_user', columnNames: ['user_id'], isUnique: true }),
          new TableIndex({ name: 'ix_ding_users_unionid', columnNames: ['unionid'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'ding_nodes',
        columns: [
          // `dept:<dept_id>`, `rolegroup:<groupId>`, `role:<id>`.
          c.string('ding_key', 64, { isPrimary: true }),
          c.int('node_id'),
          c.string('data_hash', 64, { default: "''" }),
          { name: 'data', type: 'text', isNullable: true, ...utf8 },
        ],
        indices: [new TableIndex({ name: 'uq_ding_nodes_node', columnNames: ['node_id'], isUnique: true })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('ding_nodes');
    await queryRunner.dropTable('ding_users');
    await queryRunner.dropTable('ding_config');
  }
}
