import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/**
 * An application employees sign in to. Its protocol parts live beside it: OAuth/OIDC clients in
 * `app_clients`; LDAP and HTTP are flags until their servers exist (their details are derived, not stored).
 */
@Entity('apps')
export class AppEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('uq_apps_uid', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  uid!: string;

  @Column({ type: 'varchar', length: 255 })
  name!: string;

  /** The app's home URL (ArkID `index`). */
  @Column({ name: 'index_url', type: 'varchar', length: 1024, default: '' })
  indexUrl!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  logo!: string;

  @Column({ type: 'varchar', length: 1024, default: '' })
  remark!: string;

  @Column({ name: 'allow_any_user', type: 'boolean', default: false })
  allowAnyUser!: boolean;

  @Column({ name: 'ldap_enabled', type: 'boolean', default: false })
  ldapEnabled!: boolean;

  @Column({ name: 'http_enabled', type: 'boolean', default: false })
  httpEnabled!: boolean;

  @Index('ix_apps_created_at')
  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt!: Date;
}
