import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';
import { portable } from './portable';

/**
 * Site settings (one JSON document per section, secrets sealed), verification codes and tokens (stored
 * as keyed hashes), invitations (hashed keys) and image captchas (answers sealed, so the image can be drawn on request).
 */
export class Lifecycle1764400000000 implements MigrationInterface {
  name = 'Lifecycle1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    const { utf8 } = c;
    await queryRunner.createTable(
      new Table({
        name: 'site_settings',
        columns: [
          { ...c.string('section', 32), isPrimary: true },
          { name: 'data', type: 'text', ...utf8 },
          c.updatedAt(),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'verifications',
        columns: [
          c.id(),
          c.string('kind', 16),
          c.string('purpose', 32),
          c.string('address', 255, utf8),
          c.string('secret_hash', 64),
          c.int('attempts', { default: 0 }),
          c.int('user_id', { isNullable: true }),
          c.int('invitation_id', { isNullable: true }),
          c.datetime('created_at', { precision: 3 }),
          c.datetime('expires_at', { precision: 3 }),
          c.datetime('consumed_at', { precision: 3, isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: 'uq_verifications_secret', columnNames: ['secret_hash'], isUnique: true }),
          new TableIndex({
            name: 'ix_verifications_lookup',
            columnNames: ['kind', 'purpose', 'address', 'created_at'],
          }),
          new TableIndex({ name: 'ix_verifications_expires', columnNames: ['expires_at'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'invitations',
        columns: [
          c.id(),
          c.string('uuid', 32),
          c.int('inviter_id', { isNullable: true }),
          c.int('invitee_id'),
          c.string('key_hash', 64),
          c.datetime('created_at', { precision: 3 }),
          c.datetime('expires_at', { precision: 3 }),
          c.datetime('ended_at', { precision: 3, isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: 'uq_invitations_uuid', columnNames: ['uuid'], isUnique: true }),
          new TableIndex({ name: 'uq_invitations_key', columnNames: ['key_hash'], isUnique: true }),
          new TableIndex({ name: 'ix_invitations_invitee', columnNames: ['invitee_id'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'captchas',
        columns: [
          { ...c.string('captcha_key', 32), isPrimary: true },
          c.string('answer_sealed', 128),
          c.datetime('expires_at', { precision: 3 }),
        ],
        indices: [new TableIndex({ name: 'ix_captchas_expires', columnNames: ['expires_at'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('captchas');
    await queryRunner.dropTable('invitations');
    await queryRunner.dropTable('verifications');
    await queryRunner.dropTable('site_settings');
  }
}
