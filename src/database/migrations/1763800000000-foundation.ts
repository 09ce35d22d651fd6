import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';
import { portable } from './portable';

/** Accounts, API tokens and login throttling. */
export class Foundation1763800000000 implements MigrationInterface {
  name = 'Foundation1763800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          c.id(),
          c.string('username', 64),
          c.string('name', 255, { default: "''" }),
          c.string('email', 255, { default: "''" }),
          c.string('private_email', 255, { isNullable: true }),
          c.string('mobile', 32, { isNullable: true }),
          c.string('employee_number', 64, { default: "''" }),
          c.smallint('gender', { default: 0 }),
          c.string('avatar', 255, { default: "''" }),
          c.string('position', 255, { default: "''" }),
          c.string('remark', 1024, { default: "''" }),
          c.datetime('hiredate', { isNullable: true }),
          c.string('password_hash', 255, { isNullable: true }),
          c.boolean('require_reset_password', false),
          c.boolean('is_active', true),
          c.boolean('is_admin', false),
          c.smallint('origin', { default: 0 }),
          c.boolean('from_register', false),
          c.datetime('last_active_time', { isNullable: true }),
          c.createdAt(),
          c.updatedAt(),
          c.datetime('deleted_at', { isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: 'uq_users_username', columnNames: ['username'], isUnique: true }),
          new TableIndex({ name: 'uq_users_private_email', columnNames: ['private_email'], isUnique: true }),
          new TableIndex({ name: 'uq_users_mobile', columnNames: ['mobile'], isUnique: true }),
          new TableIndex({ name: 'ix_users_last_active_time', columnNames: ['last_active_time'] }),
          new TableIndex({ name: 'ix_users_created_at', columnNames: ['created_at'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'api_tokens',
        columns: [
          c.id(),
          c.int('user_id'),
          c.string('key_hash', 64),
          c.createdAt(),
          c.datetime('last_used_at'),
          c.datetime('expires_at'),
          c.string('user_agent', 255, { default: "''" }),
          c.string('ip', 64, { default: "''" }),
        ],
        indices: [
          new TableIndex({ name: 'ix_api_tokens_user_id', columnNames: ['user_id'] }),
          new TableIndex({ name: 'uq_api_tokens_key_hash', columnNames: ['key_hash'], isUnique: true }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'login_throttles',
        columns: [
          c.string('subject_key', 80, { isPrimary: true }),
          c.int('failures', { default: 0 }),
          c.int('pending', { default: 0 }),
          c.datetime('pending_until', { isNullable: true }),
          c.datetime('next_attempt_at', { isNullable: true }),
          c.datetime('locked_until', { isNullable: true }),
          c.datetime('window_started_at'),
          c.int('window_failures', { default: 0 }),
          c.int('version', { default: 0 }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('login_throttles');
    await queryRunner.dropTable('api_tokens');
    await queryRunner.dropTable('users');
  }
}
