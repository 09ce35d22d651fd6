import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The `apps` change stamp: every write to apps or app_clients bumps it, so the OAuth provider can cache clients. */
export class AppsStamp1764700000000 implements MigrationInterface {
  name = 'AppsStamp1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('INSERT INTO change_stamps (topic, version) VALUES (?, 0)', ['apps']);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DELETE FROM change_stamps WHERE topic = ?', ['apps']);
  }
}
