import { Column, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export const LEAVER_POLICIES = ['disable', 'delete', 'ignore'] as const;
export type LeaverPolicy = (typeof LEAVER_POLICIES)[number];

/**
 * The sync's own settings (what a pull does with leavers); one row. The DingTalk credentials are site
 * configuration (`config/` ding_config, the settings room).
 */
@Entity('ding_config')
export class DingConfigEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'leaver_policy', type: 'varchar', length: 16, default: 'disable' })
  leaverPolicy!: LeaverPolicy;

  @Column({ name: 'leaver_delete_days', type: 'integer', default: 30 })
  leaverDeleteDays!: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime' })
  updatedAt!: Date;
}

/** A DingTalk member (by userid) and the Arbor account it is. */
@Entity('ding_users')
export class DingUserEntity {
  @Column({ name: 'ding_userid', type: 'varchar', length: 64, primary: true })
  dingUserid!: string;

  @Index('uq_ding_users_user', { unique: true })
  @Column({ name: 'user_id', type: 'integer' })
  userId!: number;

  @Index('ix_ding_users_unionid')
  @Column({ type: 'varchar', length: 64, default: '' })
  unionid!: string;

  @Column({ name: 'data_hash', type: 'varchar', length: 64, default: '' })
  dataHash!: string;

  @Column({ type: 'text', nullable: true })
  data!: string | null;

  @Column({ name: 'left_at', type: 'datetime', precision: 3, nullable: true })
  leftAt!: Date | null;

  @Column({ name: 'disabled_by_sync', type: 'boolean', default: false })
  disabledBySync!: boolean;
}

/** A DingTalk department, role group or role (`dept:2`, `rolegroup:7`, `role:8`) and its Arbor node. */
@Entity('ding_nodes')
export class DingNodeEntity {
  @Column({ name: 'ding_key', type: 'varchar', length: 64, primary: true })
  dingKey!: string;

  @Index('uq_ding_nodes_node', { unique: true })
  @Column({ name: 'node_id', type: 'integer' })
  nodeId!: number;

  @Column({ name: 'data_hash', type: 'varchar', length: 64, default: '' })
  dataHash!: string;

  @Column({ type: 'text', nullable: true })
  data!: string | null;
}
