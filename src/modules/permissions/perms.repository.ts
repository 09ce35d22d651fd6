import { Injectable } from '@nestjs/common';
import type { SqlCondition } from '../../common/guards/admin-scope';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import type { Status } from './decision';
import { PermNodeStatusEntity, PermUserStatusEntity } from './entities/perm-status.entity';
import { PermEntity } from './entities/perm.entity';
import type { PermDef } from './permission-snapshot';

const CHUNK = 500;

export type OwnerKind = 'user' | 'node';

export interface StatusChange {
  permId: number;
  ownerId: number;
  status: Status;
}

export interface PermListFilter {
  subject?: string;
  name?: string;
  scope?: string;
  /** Prefix of the action; when set, `actionExcept` is ignored. */
  action?: string;
  actionExcept?: string;
  /** Exact matches instead of prefixes (the `perm/user/…` and `perm/node/…` lists). */
  exact?: boolean;
}

function escapeLike(value: string): string {
  return value.replace(/[!%_]/g, (c) => `!${c}`);
}

/** Permissions and their explicit assignments. Reads for decisions go through the snapshot, not here. */
@Injectable()
export class PermsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(PermEntity);
  }

  // ---- snapshot loads (raw: tens of thousands of rows) ----

  async allDefs(manager: EntityManager): Promise<PermDef[]> {
    const rows: Record<string, unknown>[] = await manager.query(
      'SELECT id, uid, name, remark, subject, scope, action, app_id, default_value, editable FROM perms',
    );
    return rows.map((r) => ({
      id: Number(r.id),
      uid: String(r.uid),
      name: String(r.name),
      remark: String(r.remark),
      subject: String(r.subject),
      scope: String(r.scope),
      action: String(r.action),
      appId: r.app_id === null ? null : Number(r.app_id),
      defaultValue: Boolean(Number(r.default_value)),
      editable: Boolean(Number(r.editable)),
    }));
  }

  /** The system permissions each node holds with status 1 (sub-admin groups' powers). */
  async systemPowersOfNodes(
    nodeIds: number[],
    manager?: EntityManager,
  ): Promise<{ nodeId: number; uid: string; name: string }[]> {
    if (nodeIds.length === 0) return [];
    const rows: Record<string, unknown>[] = await (manager ?? this.dataSource.manager).query(
      'SELECT s.node_id, p.uid, p.name FROM perm_node_statuses s INNER JOIN perms p ON p.id = s.perm_id ' +
        `WHERE p.subject = 'system' AND s.status = 1 AND s.node_id IN (${nodeIds.map(() => '?').join(', ')}) ` +
        'ORDER BY p.id',
      nodeIds,
    );
    return rows.map((r) => ({ nodeId: Number(r.node_id), uid: String(r.uid), name: String(r.name) }));
  }

  async allNodeStatuses(
    manager: EntityManager,
  ): Promise<{ permId: number; nodeId: number; status: number }[]> {
    const rows: Record<string, unknown>[] = await manager.query(
      'SELECT perm_id, node_id, status FROM perm_node_statuses',
    );
    return rows.map((r) => ({
      permId: Number(r.perm_id),
      nodeId: Number(r.node_id),
      status: Number(r.status),
    }));
  }

  async allUserStatuses(
    manager: EntityManager,
  ): Promise<{ permId: number; userId: number; status: number }[]> {
    const rows: Record<string, unknown>[] = await manager.query(
      'SELECT perm_id, user_id, status FROM perm_user_statuses',
    );
    return rows.map((r) => ({
      permId: Number(r.perm_id),
      userId: Number(r.user_id),
      status: Number(r.status),
    }));
  }

  // ---- permissions ----

  findByUid(uid: string, manager?: EntityManager): Promise<PermEntity | null> {
    return this.repo(manager).findOne({ where: { uid } });
  }

  async uidTaken(uid: string, manager: EntityManager): Promise<boolean> {
    return (await this.repo(manager).count({ where: { uid } })) > 0;
  }

  ofApp(appId: number, manager?: EntityManager): Promise<PermEntity[]> {
    return this.repo(manager).find({ where: { appId }, order: { id: 'ASC' } });
  }

  async insert(manager: EntityManager, perm: Partial<PermEntity>): Promise<PermEntity> {
    return this.repo(manager).save(this.repo(manager).create(perm));
  }

  async update(manager: EntityManager, id: number, changes: Partial<PermEntity>): Promise<void> {
    await this.repo(manager).update({ id }, changes);
  }

  /** Deletes permissions and every assignment of them. */
  async delete(manager: EntityManager, permIds: number[]): Promise<void> {
    if (permIds.length === 0) return;
    await manager.getRepository(PermUserStatusEntity).delete({ permId: In(permIds) });
    await manager.getRepository(PermNodeStatusEntity).delete({ permId: In(permIds) });
    await this.repo(manager).delete({ id: In(permIds) });
  }

  /** `perm/` and the owner-centred lists: ordered by id, paged. */
  list(
    filter: PermListFilter,
    page: { offset: number; pageSize: number },
    scope: SqlCondition,
  ): Promise<[PermEntity[], number]> {
    const qb = this.repo().createQueryBuilder('p').where(scope.sql, scope.params);
    if (filter.subject) qb.andWhere('p.subject = :subject', { subject: filter.subject });
    if (filter.scope) qb.andWhere('p.scope = :scope', { scope: filter.scope });
    if (filter.name) {
      qb.andWhere("LOWER(p.name) LIKE LOWER(:name) ESCAPE '!'", { name: `%${escapeLike(filter.name)}%` });
    }
    if (filter.action) {
      if (filter.exact) qb.andWhere('p.action = :action', { action: filter.action });
      else qb.andWhere("p.action LIKE :action ESCAPE '!'", { action: `${escapeLike(filter.action)}%` });
    } else if (filter.actionExcept) {
      if (filter.exact) qb.andWhere('p.action <> :except', { except: filter.actionExcept });
      else
        qb.andWhere("p.action NOT LIKE :except ESCAPE '!'", {
          except: `${escapeLike(filter.actionExcept)}%`,
        });
    }
    return qb.orderBy('p.id', 'ASC').skip(page.offset).take(page.pageSize).getManyAndCount();
  }

  // ---- assignments ----

  /**
   * Sets explicit statuses of one owner kind; 0 removes the row (inherit is the absence of an
   * assignment). The last change for a (perm, owner) pair wins.
   */
  async setStatuses(
    manager: EntityManager,
    owner: OwnerKind,
    changes: readonly StatusChange[],
  ): Promise<void> {
    const latest = new Map<string, StatusChange>();
    for (const change of changes) latest.set(`${change.permId}:${change.ownerId}`, change);
    const byPerm = new Map<number, number[]>();
    for (const { permId, ownerId } of latest.values()) {
      const list = byPerm.get(permId);
      if (list) list.push(ownerId);
      else byPerm.set(permId, [ownerId]);
    }
    const entity = owner === 'user' ? PermUserStatusEntity : PermNodeStatusEntity;
    const column = owner === 'user' ? 'userId' : 'nodeId';
    const repo = manager.getRepository<PermUserStatusEntity | PermNodeStatusEntity>(entity);
    for (const [permId, ownerIds] of byPerm) {
      for (let start = 0; start < ownerIds.length; start += CHUNK) {
        await repo.delete({ permId, [column]: In(ownerIds.slice(start, start + CHUNK)) });
      }
    }
    const rows = [...latest.values()]
      .filter((c) => c.status !== 0)
      .map((c) => ({ permId: c.permId, [column]: c.ownerId, status: c.status }));
    for (let start = 0; start < rows.length; start += CHUNK)
      await repo.insert(rows.slice(start, start + CHUNK));
  }

  async clear(manager: EntityManager, permId: number): Promise<void> {
    await manager.getRepository(PermUserStatusEntity).delete({ permId });
    await manager.getRepository(PermNodeStatusEntity).delete({ permId });
  }

  /** Whether anything pointed at the owner (so callers bump the stamp only when a row went away). */
  async removeUser(manager: EntityManager, userId: number): Promise<boolean> {
    const result = await manager.getRepository(PermUserStatusEntity).delete({ userId });
    return (result.affected ?? 1) > 0;
  }

  async removeNode(manager: EntityManager, nodeId: number): Promise<boolean> {
    const result = await manager.getRepository(PermNodeStatusEntity).delete({ nodeId });
    return (result.affected ?? 1) > 0;
  }
}
