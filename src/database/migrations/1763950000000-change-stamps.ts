import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';
import { portable } from './portable';

/** Version stamps that caches check against (see ChangeStamps), seeded for each topic. */
export class ChangeStamps1763950000000 implements MigrationInterface {
  name = 'ChangeStamps1763950000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'change_stamps',
        columns: [c.string('topic', 32, { isPrimary: true }), c.int('version', { default: 0 })],
      }),
    );
    for (const topic of ['org', 'perm']) {
      await queryRunner.query('INSERT INTO change_stamps (topic, version) VALUES (?, 0)', [topic]);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('change_stamps');
  }
}
