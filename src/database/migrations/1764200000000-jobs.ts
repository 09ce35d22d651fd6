import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';
import { portable } from './portable';

/**
 * Background jobs: one `tasks` row per enqueued job (the source of truth for `task/<id>/result/`, and
 * what a restarted worker or a flushed Redis resumes from), leases that keep two jobs of one kind from
 * running at once even when a worker dies holding one, and the cron schedules of repeatable jobs.
 */
export class Jobs1764200000000 implements MigrationInterface {
  name = 'Jobs1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = portable(queryRunner);
    const { utf8 } = c;
    await queryRunner.createTable(
      new Table({
        name: 'tasks',
        columns: [
          c.id(),
          c.string('task_id', 36),
          c.string('job_name', 64),
          // Set while the task is waiting or running, NULL once it ends: a unique index turns a second
          // request for the same work into the same task (a double click does not sync twice).
          c.string('active_key', 191, { isNullable: true }),
          c.string('status_raw', 16),
          { name: 'payload', type: 'text', ...utf8 },
          text('stage', 64),
          c.int('done', { default: 0 }),
          c.int('total', { default: 0 }),
          c.int('attempts', { default: 0 }),
          c.int('max_attempts', { default: 1 }),
          c.boolean('dead_letter', false),
          { name: 'errors', type: 'text', isNullable: true, ...utf8 },
          { name: 'result', type: 'text', isNullable: true, ...utf8 },
          { name: 'failure', type: 'text', isNullable: true, ...utf8 },
          c.datetime('run_after', { precision: 3, isNullable: true }),
          c.datetime('started_at', { precision: 3, isNullable: true }),
          c.datetime('finished_at', { precision: 3, isNullable: true }),
          c.createdAt(),
          c.updatedAt(),
        ],
        indices: [
          new TableIndex({ name: 'uq_tasks_task_id', columnNames: ['task_id'], isUnique: true }),
          new TableIndex({ name: 'uq_tasks_active_key', columnNames: ['active_key'], isUnique: true }),
          new TableIndex({ name: 'ix_tasks_status', columnNames: ['status_raw'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'job_leases',
        columns: [
          c.string('name', 64, { isPrimary: true }),
          c.string('owner', 64),
          c.datetime('expires_at', { precision: 3 }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'job_schedules',
        columns: [
          c.string('name', 64, { isPrimary: true }),
          c.string('cron', 128, { isNullable: true }),
          c.datetime('next_run_at', { precision: 3, isNullable: true }),
          c.updatedAt(),
        ],
      }),
    );

    function text(name: string, length: number) {
      return c.string(name, length, { default: "''", ...utf8 });
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('job_schedules');
    await queryRunner.dropTable('job_leases');
    await queryRunner.dropTable('tasks');
  }
}
