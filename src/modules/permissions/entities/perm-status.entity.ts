import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Explicit assignments: 1 white list, -1 black list. Status 0 (inherit) is the absence of a row, so
 * the tables hold only what decides something.
 */
@Entity('perm_user_statuses')
@Index('ix_perm_user_statuses_user', ['userId'])
export class PermUserStatusEntity {
  @PrimaryColumn({ name: 'perm_id', type: 'integer' })
  permId!: number;

  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId!: number;

  @Column({ type: 'smallint' })
  status!: number;
}

@Entity('perm_node_statuses')
@Index('ix_perm_node_statuses_node', ['nodeId'])
export class PermNodeStatusEntity {
  @PrimaryColumn({ name: 'perm_id', type: 'integer' })
  permId!: number;

  @PrimaryColumn({ name: 'node_id', type: 'integer' })
  nodeId!: number;

  @Column({ type: 'smallint' })
  status!: number;
}
