import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** One audit log entry: who did what to which user, node or app, from where. Never updated. */
@Entity('audit_log')
@Index('ix_audit_log_subject_created', ['subject', 'createdAt'])
@Index('ix_audit_log_actor_created', ['actorUsername', 'actorName', 'subject', 'createdAt'])
export class AuditEntryEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('uq_audit_log_uuid', { unique: true })
  @Column({ type: 'varchar', length: 32 })
  uuid!: string;

  @Index('ix_audit_log_created')
  @Column({ name: 'created_at', type: 'datetime', precision: 6 })
  createdAt!: Date;

  @Column({ type: 'varchar', length: 32 })
  subject!: string;

  @Column({ type: 'varchar', length: 512, default: '' })
  summary!: string;

  /** The actor as it was when it acted (its row may later be deleted or renamed). */
  @Column({ name: 'actor_user_id', type: 'int', nullable: true })
  actorUserId!: number | null;

  @Column({ name: 'actor_username', type: 'varchar', length: 64, default: '' })
  actorUsername!: string;

  @Column({ name: 'actor_name', type: 'varchar', length: 255, default: '' })
  actorName!: string;

  @Index('ix_audit_log_target_user')
  @Column({ name: 'target_user_id', type: 'int', nullable: true })
  targetUserId!: number | null;

  @Index('ix_audit_log_target_node')
  @Column({ name: 'target_node_id', type: 'int', nullable: true })
  targetNodeId!: number | null;

  @Index('ix_audit_log_target_app')
  @Column({ name: 'target_app_id', type: 'int', nullable: true })
  targetAppId!: number | null;

  @Column({ type: 'varchar', length: 64, default: '' })
  ip!: string;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, default: '' })
  userAgent!: string;

  @Column({ type: 'varchar', length: 64, default: '' })
  os!: string;

  @Column({ type: 'varchar', length: 64, default: '' })
  browser!: string;

  @Column({ type: 'varchar', length: 8, default: '' })
  method!: string;

  @Column({ type: 'varchar', length: 1024, default: '' })
  path!: string;

  /** The request body as masked JSON (secrets replaced, size capped), or null when there was none. */
  @Column({ type: 'text', nullable: true })
  body!: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 128, default: '' })
  requestId!: string;
}

/** Each distinct actor snapshot once, so the `user` filter searches a small table, not the log. */
@Entity('audit_actors')
@Index('uq_audit_actors_username_name', ['username', 'name'], { unique: true })
export class AuditActorEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  username!: string;

  @Column({ type: 'varchar', length: 255 })
  name!: string;
}

/**
 * The summary search index (see summary-grams.ts): one row per entry and distinct trigram of its
 * summary. Keyed by entry first, so writing appends and purging deletes a key range; searches seek
 * the `(gram, log_id)` index.
 */
@Entity('audit_log_grams')
@Index('ix_audit_log_grams_gram', ['gram', 'logId'])
export class AuditSummaryGramEntity {
  @PrimaryColumn({ name: 'log_id', type: 'integer' })
  logId!: number;

  /** Three UTF-16 code units as one integer below 2^48. */
  @PrimaryColumn({ type: 'bigint' })
  gram!: string;
}

/** Entries written since the search index last caught up (AuditSearchIndexer empties it in batches). */
@Entity('audit_log_pending')
export class AuditPendingEntity {
  @PrimaryColumn({ name: 'log_id', type: 'integer' })
  logId!: number;
}
