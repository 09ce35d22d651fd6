import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export enum ScopeSubject {
  /** The members' own nodes and everything below them. */
  OwnNodes = 1,
  /** The listed nodes (with descendants) and the listed users. */
  Listed = 2,
}

/** The manager_group of a sub-admin group (a group under `g_manager`). */
@Entity('manager_groups')
export class ManagerGroupEntity {
  @PrimaryColumn({ name: 'node_id', type: 'integer' })
  nodeId!: number;

  @Column({ name: 'scope_subject', type: 'smallint', default: ScopeSubject.OwnNodes })
  scopeSubject!: ScopeSubject;
}

@Entity('manager_group_nodes')
@Index('ix_manager_group_nodes_node_id', ['nodeId'])
export class ManagerGroupNodeEntity {
  @PrimaryColumn({ name: 'group_node_id', type: 'integer' })
  groupNodeId!: number;

  @PrimaryColumn({ name: 'node_id', type: 'integer' })
  nodeId!: number;
}

@Entity('manager_group_users')
@Index('ix_manager_group_users_user_id', ['userId'])
export class ManagerGroupUserEntity {
  @PrimaryColumn({ name: 'group_node_id', type: 'integer' })
  groupNodeId!: number;

  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId!: number;
}

@Entity('manager_group_apps')
@Index('ix_manager_group_apps_app_id', ['appId'])
export class ManagerGroupAppEntity {
  @PrimaryColumn({ name: 'group_node_id', type: 'integer' })
  groupNodeId!: number;

  @PrimaryColumn({ name: 'app_id', type: 'integer' })
  appId!: number;
}
