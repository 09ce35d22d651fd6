import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';
import { portable } from './portable';

/**
 * Sub-admin groups (contract §3.6, §4.2): a group under `g_manager` carries a scope setting and the
 * nodes, users and apps it manages. Its system powers are ordinary status-1 assignments on the group.
 */
export class AdminScope1764050000000 implements MigrationInterface {
  name = 'AdminScope1764050000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'manager_groups',
        columns: [c.int('node_id', { isPrimary: true }), c.smallint('scope_subject', { default: 1 })],
      }),
    );
    for (const [table, column] of [
      ['manager_group_nodes', 'node_id'],
      ['manager_group_users', 'user_id'],
      ['manager_group_apps', 'app_id'],
    ] as const) {
      await queryRunner.createTable(
        new Table({
          name: table,
          columns: [c.int('group_node_id', { isPrimary: true }), c.int(column, { isPrimary: true })],
          // Deleting the managed object removes its rows; the index finds them.
          indices: [new TableIndex({ name: `ix_${table}_${column}`, columnNames: [column] })],
        }),
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'manager_group_apps',
      'manager_group_users',
      'manager_group_nodes',
      'manager_groups',
    ]) {
      await queryRunner.dropTable(table);
    }
  }
}
