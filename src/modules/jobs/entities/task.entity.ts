import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/**
 * Raw task states, named as ArkID's Celery states so `status_raw` reads the same to old clients:
 * PENDING (queued), RETRY (failed, another attempt scheduled), STARTED, SUCCESS, FAILURE (no attempt
 * left: the dead-letter state, kept with its error) and REVOKED (dropped by an operator).
 */
export const TASK_STATES = ['PENDING', 'RETRY', 'STARTED', 'SUCCESS', 'FAILURE', 'REVOKED'] as const;
export type TaskState = (typeof TASK_STATES)[number];

@Entity('tasks')
export class TaskEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('uq_tasks_task_id', { unique: true })
  @Column({ name: 'task_id', type: 'varchar', length: 36 })
  taskId!: string;

  @Column({ name: 'job_name', type: 'varchar', length: 64 })
  jobName!: string;

  @Index('uq_tasks_active_key', { unique: true })
  @Column({ name: 'active_key', type: 'varchar', length: 191, nullable: true })
  activeKey!: string | null;

  @Index('ix_tasks_status')
  @Column({ name: 'status_raw', type: 'varchar', length: 16 })
  statusRaw!: string;

  @Column({ type: 'text' })
  payload!: string;

  @Column({ type: 'varchar', length: 64, default: '' })
  stage!: string;

  @Column({ type: 'integer', default: 0 })
  done!: number;

  @Column({ type: 'integer', default: 0 })
  total!: number;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'max_attempts', type: 'integer', default: 1 })
  maxAttempts!: number;

  @Column({ name: 'dead_letter', type: 'boolean', default: false })
  deadLetter!: boolean;

  @Column({ type: 'text', nullable: true })
  errors!: string | null;

  @Column({ type: 'text', nullable: true })
  result!: string | null;

  @Column({ type: 'text', nullable: true })
  failure!: string | null;

  @Column({ name: 'run_after', type: 'datetime', precision: 3, nullable: true })
  runAfter!: Date | null;

  @Column({ name: 'started_at', type: 'datetime', precision: 3, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'datetime', precision: 3, nullable: true })
  finishedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'datetime' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime' })
  updatedAt!: Date;
}

@Entity('job_leases')
export class JobLeaseEntity {
  @Column({ type: 'varchar', length: 64, primary: true })
  name!: string;

  @Column({ type: 'varchar', length: 64 })
  owner!: string;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt!: Date;
}

@Entity('job_schedules')
export class JobScheduleEntity {
  @Column({ type: 'varchar', length: 64, primary: true })
  name!: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  cron!: string | null;

  @Column({ name: 'next_run_at', type: 'datetime', precision: 3, nullable: true })
  nextRunAt!: Date | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime' })
  updatedAt!: Date;
}
