import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The `settings` change stamp: every write to site_settings bumps it, so readers can keep the rows. */
export class SettingsStamp1764760000000 implements MigrationInterface {
  name = 'SettingsStamp1764760000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('INSERT INTO change_stamps (topic, version) VALUES (?, 0)', ['settings']);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DELETE FROM change_stamps WHERE topic = ?', ['settings']);
  }
}
