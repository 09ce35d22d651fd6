import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type PermSubject = 'app' | 'system';

/**
 * A permission `{subject}_{scope}_{action}`: an app's access permission, a custom app permission, or
 * a built-in system permission. `default_value` is what a user gets when no assignment decides (for
 * an access permission it follows the app's `allow_any_user`).
 */
@Entity('perms')
export class PermEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('uq_perms_uid', { unique: true })
  @Column({ type: 'varchar', length: 160 })
  uid!: string;

  @Column({ type: 'varchar', length: 255 })
  name!: string;

  @Column({ type: 'varchar', length: 1024, default: '' })
  remark!: string;

  @Column({ type: 'varchar', length: 16 })
  subject!: PermSubject;

  @Column({ type: 'varchar', length: 64 })
  scope!: string;

  @Column({ type: 'varchar', length: 80 })
  action!: string;

  @Index('ix_perms_app')
  @Column({ name: 'app_id', type: 'integer', nullable: true })
  appId!: number | null;

  @Column({ name: 'default_value', type: 'boolean', default: false })
  defaultValue!: boolean;

  /** Access and system permissions are managed by Arbor: they cannot be renamed or deleted. */
  @Column({ type: 'boolean', default: true })
  editable!: boolean;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}
