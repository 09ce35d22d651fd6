import { Column, Entity, PrimaryGeneratedColumn, Index } from 'typeorm';

/** An invitation link for a not yet settled user; the key is stored as its SHA-256. */
@Entity('invitations')
@Index('uq_invitations_uuid', ['uuid'], { unique: true })
@Index('uq_invitations_key', ['keyHash'], { unique: true })
@Index('ix_invitations_invitee', ['inviteeId'])
export class InvitationEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 32 })
  uuid!: string;

  @Column({ name: 'inviter_id', type: 'integer', nullable: true })
  inviterId!: number | null;

  @Column({ name: 'invitee_id', type: 'integer' })
  inviteeId!: number;

  @Column({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt!: Date;

  /** Set when the invitation was used or replaced by a newer one. */
  @Column({ name: 'ended_at', type: 'datetime', precision: 3, nullable: true })
  endedAt!: Date | null;
}
