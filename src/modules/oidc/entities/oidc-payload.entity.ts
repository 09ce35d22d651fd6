import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One oidc-provider artifact (session, interaction, grant, authorization code, access or refresh
 * token, ...), as the provider's adapter stores it: the JSON payload, plus the columns the adapter
 * looks artifacts up by. Rows past `expires_at` are dead and purged. On SQLite the grant, uid, user code
 * and account indexes are partial (non-NULL rows only; migration 1764750000000).
 */
@Entity('oidc_payloads')
@Index('ix_oidc_payloads_grant', ['model', 'grantId'])
@Index('ix_oidc_payloads_uid', ['model', 'uid'])
@Index('ix_oidc_payloads_user_code', ['model', 'userCode'])
export class OidcPayloadEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  model!: string;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  id!: string;

  @Column({ type: 'text' })
  payload!: string;

  @Column({ name: 'grant_id', type: 'varchar', length: 128, nullable: true })
  grantId!: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  uid!: string | null;

  @Column({ name: 'user_code', type: 'varchar', length: 128, nullable: true })
  userCode!: string | null;

  @Index('ix_oidc_payloads_account')
  @Column({ name: 'account_id', type: 'varchar', length: 64, nullable: true })
  accountId!: string | null;

  @Column({ name: 'consumed_at', type: 'datetime', nullable: true })
  consumedAt!: Date | null;

  @Index('ix_oidc_payloads_expires')
  @Column({ name: 'expires_at', type: 'datetime', nullable: true })
  expiresAt!: Date | null;
}
