import {
  type MigrationInterface,
  type QueryRunner,
  Table,
  type TableColumnOptions,
  TableIndex,
} from 'typeorm';
import { portable } from './portable';

/**
 * The audit log (append-only) and the distinct actor snapshots it names, which the `user` filter
 * searches instead of scanning the log. Indexes serve `log/`: newest first through `created_at`
 * (InnoDB and SQLite append the primary key to every secondary index, so `(created_at, id)` is one
 * index), the subject and actor filters with their own `(…, created_at)` order, and the target ids
 * that sub-admin scopes filter on.
 */
export class Audit1764100000000 implements MigrationInterface {
  name = 'Audit1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    // Names, summaries and user agents are any Unicode, whatever the database's default charset.
    const { utf8 } = c;
    const text = (name: string, length: number, options: Partial<TableColumnOptions> = {}) =>
      c.string(name, length, { ...utf8, ...options });
    await queryRunner.createTable(
      new Table({
        name: 'audit_log',
        columns: [
          c.id(),
          c.string('uuid', 32),
          c.datetime('created_at', { precision: 6 }),
          c.string('subject', 32),
          text('summary', 512, { default: "''" }),
          c.int('actor_user_id', { isNullable: true }),
          text('actor_username', 64, { default: "''" }),
          text('actor_name', 255, { default: "''" }),
          c.int('target_user_id', { isNullable: true }),
          c.int('target_node_id', { isNullable: true }),
          c.int('target_app_id', { isNullable: true }),
          c.string('ip', 64, { default: "''" }),
          text('user_agent', 512, { default: "''" }),
          text('os', 64, { default: "''" }),
          text('browser', 64, { default: "''" }),
          c.string('method', 8, { default: "''" }),
          text('path', 1024, { default: "''" }),
          { name: 'body', type: 'text', isNullable: true, ...utf8 },
          c.string('request_id', 128, { default: "''" }),
        ],
        indices: [
          new TableIndex({ name: 'uq_audit_log_uuid', columnNames: ['uuid'], isUnique: true }),
          new TableIndex({ name: 'ix_audit_log_created', columnNames: ['created_at'] }),
          new TableIndex({ name: 'ix_audit_log_subject_created', columnNames: ['subject', 'created_at'] }),
          // The `user` filter matches actor snapshots, (username, name) pairs; with the subject and the
          // time in the index too, user + subject + days is answered from the index alone.
          new TableIndex({
            name: 'ix_audit_log_actor_created',
            columnNames: ['actor_username', 'actor_name', 'subject', 'created_at'],
          }),
          // `summary` contains-search scans this narrow index instead of the wide rows.
          new TableIndex({ name: 'ix_audit_log_summary_created', columnNames: ['summary', 'created_at'] }),
          new TableIndex({ name: 'ix_audit_log_target_user', columnNames: ['target_user_id'] }),
          new TableIndex({ name: 'ix_audit_log_target_node', columnNames: ['target_node_id'] }),
          new TableIndex({ name: 'ix_audit_log_target_app', columnNames: ['target_app_id'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_actors',
        columns: [c.id(), text('username', 64), text('name', 255)],
        indices: [
          new TableIndex({
            name: 'uq_audit_actors_username_name',
            columnNames: ['username', 'name'],
            isUnique: true,
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_actors');
    await queryRunner.dropTable('audit_log');
  }
}
