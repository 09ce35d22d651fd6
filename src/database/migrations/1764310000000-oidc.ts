import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';
import { portable } from './portable';

/**
 * The OAuth/OIDC provider's state (oidc_payloads, one row per artifact, looked up by id, grant, uid
 * and user code, purged by expiry) and its signing keys (sealed private JWKs), plus the change stamp
 * that tells every replica the key set moved.
 */
export class Oidc1764310000000 implements MigrationInterface {
  name = 'Oidc1764310000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    // Payloads (sessions, grants, tokens) are a few KB at most; TEXT holds 64 KB on MySQL.
    const payloadType = 'text';
    await queryRunner.createTable(
      new Table({
        name: 'oidc_payloads',
        columns: [
          c.string('model', 40, { isPrimary: true }),
          c.string('id', 128, { isPrimary: true }),
          {
            name: 'payload',
            type: payloadType,
            ...c.utf8,
          },
          c.string('grant_id', 128, { isNullable: true }),
          c.string('uid', 128, { isNullable: true }),
          c.string('user_code', 128, { isNullable: true }),
          c.datetime('consumed_at', { isNullable: true }),
          c.datetime('expires_at', { isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: 'ix_oidc_payloads_grant', columnNames: ['model', 'grant_id'] }),
          new TableIndex({ name: 'ix_oidc_payloads_uid', columnNames: ['model', 'uid'] }),
          new TableIndex({ name: 'ix_oidc_payloads_user_code', columnNames: ['model', 'user_code'] }),
          new TableIndex({ name: 'ix_oidc_payloads_expires', columnNames: ['expires_at'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'oidc_signing_keys',
        columns: [
          c.id(),
          c.string('kid', 64),
          c.string('alg', 16),
          { name: 'sealed_jwk', type: 'text' },
          c.createdAt(),
          c.datetime('retired_at', { isNullable: true }),
        ],
        indices: [new TableIndex({ name: 'uq_oidc_signing_keys_kid', columnNames: ['kid'], isUnique: true })],
      }),
    );
    await queryRunner.query('INSERT INTO change_stamps (topic, version) VALUES (?, 0)', ['oidc_keys']);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DELETE FROM change_stamps WHERE topic = ?', ['oidc_keys']);
    await queryRunner.dropTable('oidc_signing_keys');
    await queryRunner.dropTable('oidc_payloads');
  }
}
