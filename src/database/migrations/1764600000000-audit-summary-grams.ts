import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';
import { summaryGrams } from '../../modules/audit/summary-grams';

const BACKFILL_BATCH = 2000;
const INSERT_ROWS = 5000;

/**
 * The summary search index replaces the `(summary, created_at)` index, which a contains-search could
 * only scan from end to end (seconds over a million entries). New entries are queued in
 * `audit_log_pending` and indexed in batches (one page per write instead of one per trigram);
 * existing entries are indexed here.
 */
export class AuditSummaryGrams1764600000000 implements MigrationInterface {
  name = 'AuditSummaryGrams1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'audit_log_grams',
        columns: [
          { name: 'log_id', type: 'integer', isPrimary: true },
          { name: 'gram', type: 'bigint', isPrimary: true },
        ],
        indices: [new TableIndex({ name: 'ix_audit_log_grams_gram', columnNames: ['gram', 'log_id'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_log_pending',
        columns: [{ name: 'log_id', type: 'integer', isPrimary: true }],
      }),
    );
    await queryRunner.dropIndex('audit_log', 'ix_audit_log_summary_created');
    let after = 0;
    for (;;) {
      const rows = (await queryRunner.query(
        'SELECT id, summary FROM audit_log WHERE id > ? ORDER BY id LIMIT ?',
        [after, BACKFILL_BATCH],
      )) as { id: number | string; summary: string }[];
      if (rows.length === 0) return;
      const pairs = rows.flatMap((row) => summaryGrams(row.summary).map((gram) => [Number(row.id), gram]));
      for (let start = 0; start < pairs.length; start += INSERT_ROWS) {
        const chunk = pairs.slice(start, start + INSERT_ROWS);
        await queryRunner.query(
          `INSERT INTO audit_log_grams (log_id, gram) VALUES ${chunk.map(() => '(?, ?)').join(', ')}`,
          chunk.flat(),
        );
      }
      after = Number(rows[rows.length - 1].id);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'audit_log',
      new TableIndex({ name: 'ix_audit_log_summary_created', columnNames: ['summary', 'created_at'] }),
    );
    await queryRunner.dropTable('audit_log_pending');
    await queryRunner.dropTable('audit_log_grams');
  }
}
