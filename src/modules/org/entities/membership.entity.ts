import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** A user's direct membership of a node, with its position among the node's members. */
@Entity('org_memberships')
@Index('ix_org_memberships_user', ['userId'])
@Index('ix_org_memberships_node_order', ['nodeId', 'orderNo'])
export class MembershipEntity {
  @PrimaryColumn({ name: 'node_id', type: 'integer' })
  nodeId!: number;

  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId!: number;

  @Column({ name: 'order_no', type: 'integer', default: 0 })
  orderNo!: number;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}
