import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type NodeKind = 'dept' | 'group';

/** ArkID visibility scopes of a node for ordinary employees (contract §4.3). */
export enum NodeVisibility {
  Everyone = 1,
  MembersOnly = 2,
  MembersAndBelow = 3,
  Listed = 4,
  Nobody = 5,
}

/**
 * A department or a group. Both kinds share one table and one id sequence; `kind` + `uid` is unique.
 * `path` is the materialized path of ids from the root down to this node (`/1/5/9/`), so a subtree is
 * one indexed range scan and the ancestors are read off the path without a query.
 * `top` is the category a group belongs to (`role`, `label`, `manager`, `extern`, `root`, or a custom
 * category's own uid); departments have `dept`.
 */
@Entity('org_nodes')
@Index('uq_org_nodes_kind_uid', ['kind', 'uid'], { unique: true })
@Index('ix_org_nodes_parent_order', ['parentId', 'orderNo'])
export class OrgNodeEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 8 })
  kind!: NodeKind;

  @Column({ type: 'varchar', length: 64 })
  uid!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  name!: string;

  @Column({ type: 'varchar', length: 1024, default: '' })
  remark!: string;

  @Column({ name: 'parent_id', type: 'integer', nullable: true })
  parentId!: number | null;

  @Index('ix_org_nodes_path')
  @Column({ type: 'varchar', length: 700 })
  path!: string;

  @Column({ type: 'integer', default: 0 })
  depth!: number;

  @Column({ name: 'order_no', type: 'integer', default: 0 })
  orderNo!: number;

  @Column({ type: 'varchar', length: 64 })
  top!: string;

  @Column({ type: 'smallint', default: NodeVisibility.Everyone })
  visibility!: NodeVisibility;

  @Column({ type: 'boolean', default: false })
  builtin!: boolean;

  @Column({ name: 'accept_user', type: 'boolean', default: true })
  acceptUser!: boolean;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt!: Date;
}

/** A node as read for large listings: every column but the timestamps, which no answer shows. */
export type OrgNode = Omit<OrgNodeEntity, 'createdAt' | 'updatedAt'>;
