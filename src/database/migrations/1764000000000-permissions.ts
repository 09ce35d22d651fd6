import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';
import { portable } from './portable';

/** The built-in system permissions (contract §1): managed by Arbor, never renamed or deleted. */
const SYSTEM_PERMS = [
  ['user', 'create', '创建用户'],
  ['category', 'create', '创建分组类别'],
  ['app', 'create', '创建应用'],
  ['log', 'read', '查看日志'],
  ['config', 'write', '修改系统配置'],
  ['account', 'sync', '同步账号'],
] as const;

/** Apps, their OAuth/OIDC clients, permissions and the explicit black/white list assignments. */
export class Permissions1764000000000 implements MigrationInterface {
  name = 'Permissions1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'apps',
        columns: [
          c.id(),
          c.string('uid', 64),
          c.string('name', 255),
          c.string('index_url', 1024, { default: "''" }),
          c.string('logo', 255, { default: "''" }),
          c.string('remark', 1024, { default: "''" }),
          c.boolean('allow_any_user', false),
          c.boolean('ldap_enabled', false),
          c.boolean('http_enabled', false),
          c.createdAt(),
          c.updatedAt(),
        ],
        indices: [
          new TableIndex({ name: 'uq_apps_uid', columnNames: ['uid'], isUnique: true }),
          new TableIndex({ name: 'ix_apps_created_at', columnNames: ['created_at'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'app_clients',
        columns: [
          c.id(),
          c.int('app_id'),
          c.string('protocol', 8),
          c.string('client_id', 64),
          c.string('client_secret_hash', 64),
          c.string('redirect_uris', 4096, { default: "''" }),
          c.string('client_type', 16),
          c.string('flow', 32),
          c.createdAt(),
        ],
        indices: [
          new TableIndex({
            name: 'uq_app_clients_app_protocol',
            columnNames: ['app_id', 'protocol'],
            isUnique: true,
          }),
          new TableIndex({ name: 'uq_app_clients_client_id', columnNames: ['client_id'], isUnique: true }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'perms',
        columns: [
          c.id(),
          c.string('uid', 160),
          c.string('name', 255),
          c.string('remark', 1024, { default: "''" }),
          c.string('subject', 16),
          c.string('scope', 64),
          c.string('action', 80),
          c.int('app_id', { isNullable: true }),
          c.boolean('default_value', false),
          c.boolean('editable', true),
          c.createdAt(),
        ],
        indices: [
          new TableIndex({ name: 'uq_perms_uid', columnNames: ['uid'], isUnique: true }),
          new TableIndex({ name: 'ix_perms_app', columnNames: ['app_id'] }),
        ],
      }),
    );
    for (const [table, owner] of [
      ['perm_user_statuses', 'user_id'],
      ['perm_node_statuses', 'node_id'],
    ] as const) {
      await queryRunner.createTable(
        new Table({
          name: table,
          columns: [
            c.int('perm_id', { isPrimary: true }),
            c.int(owner, { isPrimary: true }),
            c.smallint('status'),
          ],
          indices: [
            new TableIndex({
              name: `ix_${table}_${owner === 'user_id' ? 'user' : 'node'}`,
              columnNames: [owner],
            }),
          ],
        }),
      );
    }
    // Raw SQL: a query builder would map through the entity as it is today, not as it was.
    for (const [scope, action, name] of SYSTEM_PERMS) {
      await queryRunner.query(
        'INSERT INTO perms (uid, name, remark, subject, scope, action, app_id, default_value, editable) ' +
          'VALUES (?, ?, ?, ?, ?, ?, NULL, 0, 0)',
        [`system_${scope}_${action}`, name, '', 'system', scope, action],
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('perm_node_statuses');
    await queryRunner.dropTable('perm_user_statuses');
    await queryRunner.dropTable('perms');
    await queryRunner.dropTable('app_clients');
    await queryRunner.dropTable('apps');
  }
}
