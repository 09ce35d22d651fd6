import { Column, Entity, PrimaryGeneratedColumn, Index } from 'typeorm';

/** What a row proves: an SMS code sent, or a single-use token obtained from a code or a mailed link. */
export type VerificationKind = 'sms_code' | 'sms_token' | 'email_token';

/** A verification secret, stored only as its keyed hash, bound to a purpose and an address. */
@Entity('verifications')
@Index('uq_verifications_secret', ['secretHash'], { unique: true })
@Index('ix_verifications_lookup', ['kind', 'purpose', 'address', 'createdAt'])
@Index('ix_verifications_expires', ['expiresAt'])
export class VerificationEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 16 })
  kind!: VerificationKind;

  @Column({ type: 'varchar', length: 32 })
  purpose!: string;

  /** The normalized mobile number or lowercased e-mail address. */
  @Column({ type: 'varchar', length: 255 })
  address!: string;

  @Column({ name: 'secret_hash', type: 'varchar', length: 64 })
  secretHash!: string;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /** The signed-in user the secret was issued to (update_mobile, update_email). */
  @Column({ name: 'user_id', type: 'integer', nullable: true })
  userId!: number | null;

  @Column({ name: 'invitation_id', type: 'integer', nullable: true })
  invitationId!: number | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt!: Date;

  @Column({ name: 'consumed_at', type: 'datetime', precision: 3, nullable: true })
  consumedAt!: Date | null;
}
