import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One login session's API token. Only the SHA-256 of the key is stored. */
@Entity('api_tokens')
export class ApiTokenEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('ix_api_tokens_user_id')
  @Column({ name: 'user_id', type: 'int' })
  userId!: number;

  @Index('uq_api_tokens_key_hash', { unique: true })
  @Column({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash!: string;

  @CreateDateColumn({ name: 'created_at', type: 'datetime' })
  createdAt!: Date;

  @Column({ name: 'last_used_at', type: 'datetime' })
  lastUsedAt!: Date;

  @Column({ name: 'expires_at', type: 'datetime' })
  expiresAt!: Date;

  @Column({ name: 'user_agent', type: 'varchar', length: 255, default: '' })
  userAgent!: string;

  @Column({ name: 'ip', type: 'varchar', length: 64, default: '' })
  ip!: string;
}
