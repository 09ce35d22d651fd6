import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';
import { portable } from './portable';

/** The built-in nodes of contract §1: the two roots, the category holder, externals and three categories. */
const BUILTIN_NODES = [
  { id: 1, kind: 'dept', uid: 'root', name: '部门', parent_id: null, path: '/1/', depth: 0, top: 'dept' },
  { id: 2, kind: 'group', uid: 'root', name: '分组', parent_id: null, path: '/2/', depth: 0, top: 'root' },
  {
    id: 3,
    kind: 'group',
    uid: 'intra',
    name: '内部分组',
    parent_id: 2,
    path: '/2/3/',
    depth: 1,
    top: 'root',
  },
  {
    id: 4,
    kind: 'group',
    uid: 'extern',
    name: '外部联系人',
    parent_id: 2,
    path: '/2/4/',
    depth: 1,
    top: 'extern',
  },
  { id: 5, kind: 'group', uid: 'role', name: '角色', parent_id: 3, path: '/2/3/5/', depth: 2, top: 'role' },
  { id: 6, kind: 'group', uid: 'label', name: '标签', parent_id: 3, path: '/2/3/6/', depth: 2, top: 'label' },
  {
    id: 7,
    kind: 'group',
    uid: 'manager',
    name: '管理员',
    parent_id: 3,
    path: '/2/3/7/',
    depth: 2,
    top: 'manager',
  },
];

/** Departments, groups and categories as one materialized-path tree table, memberships and visibility lists. */
export class Organization1763900000000 implements MigrationInterface {
  name = 'Organization1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'org_nodes',
        columns: [
          c.id(),
          c.string('kind', 8),
          c.string('uid', 64),
          c.string('name', 255, { default: "''" }),
          c.string('remark', 1024, { default: "''" }),
          c.int('parent_id', { isNullable: true }),
          c.string('path', 700),
          c.int('depth', { default: 0 }),
          c.int('order_no', { default: 0 }),
          c.string('top', 64),
          c.smallint('visibility', { default: 1 }),
          c.boolean('builtin', false),
          c.boolean('accept_user', true),
          c.createdAt(),
          c.updatedAt(),
        ],
        indices: [
          new TableIndex({ name: 'uq_org_nodes_kind_uid', columnNames: ['kind', 'uid'], isUnique: true }),
          new TableIndex({ name: 'ix_org_nodes_parent_order', columnNames: ['parent_id', 'order_no'] }),
          new TableIndex({ name: 'ix_org_nodes_path', columnNames: ['path'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'org_memberships',
        columns: [
          c.int('node_id', { isPrimary: true }),
          c.int('user_id', { isPrimary: true }),
          c.int('order_no', { default: 0 }),
          c.createdAt(),
        ],
        indices: [
          new TableIndex({ name: 'ix_org_memberships_user', columnNames: ['user_id'] }),
          new TableIndex({ name: 'ix_org_memberships_node_order', columnNames: ['node_id', 'order_no'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'org_node_scope_nodes',
        columns: [c.int('node_id', { isPrimary: true }), c.int('target_node_id', { isPrimary: true })],
        indices: [
          new TableIndex({ name: 'ix_org_node_scope_nodes_target', columnNames: ['target_node_id'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'org_node_scope_users',
        columns: [c.int('node_id', { isPrimary: true }), c.int('user_id', { isPrimary: true })],
        indices: [new TableIndex({ name: 'ix_org_node_scope_users_user', columnNames: ['user_id'] })],
      }),
    );
    // Raw SQL: a query builder would map these keys through the entity as it is today, not as it was.
    for (const n of BUILTIN_NODES) {
      await queryRunner.query(
        'INSERT INTO org_nodes (id, kind, uid, name, remark, parent_id, path, depth, order_no, top, ' +
          'visibility, builtin, accept_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [n.id, n.kind, n.uid, n.name, '', n.parent_id, n.path, n.depth, n.id, n.top, 1, 1, 1],
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('org_node_scope_users');
    await queryRunner.dropTable('org_node_scope_nodes');
    await queryRunner.dropTable('org_memberships');
    await queryRunner.dropTable('org_nodes');
  }
}
