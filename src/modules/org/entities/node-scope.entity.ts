import { Entity, Index, PrimaryColumn } from 'typeorm';

/** Visibility 4: members of this node (or of a node below it) may see the node that lists it. */
@Entity('org_node_scope_nodes')
@Index('ix_org_node_scope_nodes_target', ['targetNodeId'])
export class NodeScopeNodeEntity {
  @PrimaryColumn({ name: 'node_id', type: 'integer' })
  nodeId!: number;

  @PrimaryColumn({ name: 'target_node_id', type: 'integer' })
  targetNodeId!: number;
}

/** Visibility 4: this user may see the node that lists it. */
@Entity('org_node_scope_users')
@Index('ix_org_node_scope_users_user', ['userId'])
export class NodeScopeUserEntity {
  @PrimaryColumn({ name: 'node_id', type: 'integer' })
  nodeId!: number;

  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId!: number;
}
