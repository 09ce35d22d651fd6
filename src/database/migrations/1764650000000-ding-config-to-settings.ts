import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';
import { portable } from './portable';

interface FormerRow {
  app_key: string;
  app_secret_enc: string;
  corp_id: string;
  qr_app_id: string;
  qr_app_secret_enc: string;
  app_valid: number | boolean;
  qr_app_valid: number | boolean;
}

const MOVED = [
  'app_key',
  'app_secret_enc',
  'corp_id',
  'qr_app_id',
  'qr_app_secret_enc',
  'app_valid',
  'qr_app_valid',
];

/**
 * The DingTalk credentials become site configuration (`config/` ding_config, the settings room's
 * `site_settings` row `ding`); `ding_config` keeps only the sync's own settings (leaver policy). The
 * stored secrets move as they are, still sealed under their former purpose (`dingtalk`), which the
 * settings room opens until they are next written.
 */
export class DingConfigToSettings1764650000000 implements MigrationInterface {
  name = 'DingConfigToSettings1764650000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const [row] = (await queryRunner.query(
      `SELECT ${MOVED.join(', ')} FROM ding_config ORDER BY id ASC LIMIT 1`,
    )) as FormerRow[];
    const existing = (await queryRunner.query(
      "SELECT section FROM site_settings WHERE section = 'ding'",
    )) as unknown[];
    if (row && existing.length === 0) {
      const data = {
        app_key: row.app_key,
        app_secret: row.app_secret_enc,
        app_valid: Boolean(Number(row.app_valid)),
        corp_id: row.corp_id,
        corp_secret: '',
        corp_valid: false,
        qr_app_id: row.qr_app_id,
        qr_app_secret: row.qr_app_secret_enc,
        qr_app_valid: Boolean(Number(row.qr_app_valid)),
      };
      await queryRunner.query('INSERT INTO site_settings (section, data) VALUES (?, ?)', [
        'ding',
        JSON.stringify(data),
      ]);
    }
    await queryRunner.dropColumns('ding_config', MOVED);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    await queryRunner.addColumns('ding_config', [
      new TableColumn(c.string('app_key', 128, { default: "''" })),
      new TableColumn(c.string('app_secret_enc', 512, { default: "''" })),
      new TableColumn(c.string('corp_id', 128, { default: "''" })),
      new TableColumn(c.string('qr_app_id', 128, { default: "''" })),
      new TableColumn(c.string('qr_app_secret_enc', 512, { default: "''" })),
      new TableColumn(c.boolean('app_valid', false)),
      new TableColumn(c.boolean('qr_app_valid', false)),
    ]);
    // Secrets written since the move are sealed for the settings room and are not carried back.
    const [stored] = (await queryRunner.query("SELECT data FROM site_settings WHERE section = 'ding'")) as {
      data: string;
    }[];
    if (!stored) return;
    const ding = JSON.parse(stored.data) as Record<string, unknown>;
    const text = (key: string): string => {
      const value = ding[key];
      return typeof value === 'string' ? value : '';
    };
    const [row] = (await queryRunner.query('SELECT id FROM ding_config ORDER BY id ASC LIMIT 1')) as {
      id: number;
    }[];
    if (!row) await queryRunner.query('INSERT INTO ding_config (leaver_policy) VALUES (?)', ['disable']);
    await queryRunner.query(
      'UPDATE ding_config SET app_key = ?, corp_id = ?, qr_app_id = ?, app_valid = ?, qr_app_valid = ?',
      [
        text('app_key'),
        text('corp_id'),
        text('qr_app_id'),
        ding.app_valid ? 1 : 0,
        ding.qr_app_valid ? 1 : 0,
      ],
    );
    await queryRunner.query("DELETE FROM site_settings WHERE section = 'ding'");
  }
}
