import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Failed-login bookkeeping per account (`u:<id>`) or, for identifiers that match no account,
 * per hashed identifier (`i:<sha256>`), so unknown and known accounts lock alike.
 * `version` makes every change a compare-and-swap, which keeps counting exact under parallel attempts.
 */
@Entity('login_throttles')
export class LoginThrottleEntity {
  @PrimaryColumn({ name: 'subject_key', type: 'varchar', length: 80 })
  subjectKey!: string;

  @Column({ type: 'int', default: 0 })
  failures!: number;

  @Column({ type: 'int', default: 0 })
  pending!: number;

  @Column({ name: 'pending_until', type: 'datetime', nullable: true })
  pendingUntil!: Date | null;

  @Column({ name: 'next_attempt_at', type: 'datetime', nullable: true })
  nextAttemptAt!: Date | null;

  @Column({ name: 'locked_until', type: 'datetime', nullable: true })
  lockedUntil!: Date | null;

  @Column({ name: 'window_started_at', type: 'datetime' })
  windowStartedAt!: Date;

  @Column({ name: 'window_failures', type: 'int', default: 0 })
  windowFailures!: number;

  @Column({ type: 'int', default: 0 })
  version!: number;
}
