import { Injectable } from '@nestjs/common';
import type { SqlCondition } from '../../common/guards/admin-scope';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import { ChangeStamps } from '../../common/database/change-stamps';
import { AppClientEntity, type ClientProtocol } from './entities/app-client.entity';
import { AppEntity } from './entities/app.entity';

export interface AppListFilter {
  name?: string;
  /** Only these apps (a workbench); undefined = every app. */
  ids?: number[];
}

/** Every write bumps the `apps` stamp in its transaction: the OAuth provider caches clients against it. */
@Injectable()
export class AppsRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly stamps: ChangeStamps,
  ) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(AppEntity);
  }

  private clients(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(AppClientEntity);
  }

  findByUid(uid: string, manager?: EntityManager): Promise<AppEntity | null> {
    return this.repo(manager).findOne({ where: { uid } });
  }

  async findByIds(ids: number[], manager?: EntityManager): Promise<AppEntity[]> {
    return ids.length === 0 ? [] : this.repo(manager).findBy({ id: In(ids) });
  }

  async uidTaken(uid: string, manager: EntityManager): Promise<boolean> {
    return (await this.repo(manager).count({ where: { uid } })) > 0;
  }

  /** Newest first, `name` icontains. */
  list(
    filter: AppListFilter,
    page: { offset: number; pageSize: number },
    scope: SqlCondition,
  ): Promise<[AppEntity[], number]> {
    const qb = this.repo().createQueryBuilder('a').where(scope.sql, scope.params);
    if (filter.ids) {
      if (filter.ids.length === 0) return Promise.resolve([[], 0]);
      qb.andWhere('a.id IN (:...ids)', { ids: filter.ids });
    }
    if (filter.name) {
      const name = `%${filter.name.replace(/[!%_]/g, (c) => `!${c}`)}%`;
      qb.andWhere("LOWER(a.name) LIKE LOWER(:name) ESCAPE '!'", { name });
    }
    return qb
      .orderBy('a.created_at', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .skip(page.offset)
      .take(page.pageSize)
      .getManyAndCount();
  }

  async insert(manager: EntityManager, app: Partial<AppEntity>): Promise<AppEntity> {
    const saved = await this.repo(manager).save(this.repo(manager).create(app));
    await this.stamps.bump(manager, 'apps');
    return saved;
  }

  async update(manager: EntityManager, id: number, changes: Partial<AppEntity>): Promise<void> {
    if (Object.keys(changes).length === 0) return;
    await this.repo(manager).update({ id }, changes);
    await this.stamps.bump(manager, 'apps');
  }

  async delete(manager: EntityManager, id: number): Promise<void> {
    await this.clients(manager).delete({ appId: id });
    await this.repo(manager).delete({ id });
    await this.stamps.bump(manager, 'apps');
  }

  async findByClientId(clientId: string): Promise<AppEntity | null> {
    const client = await this.clients().findOne({ where: { clientId } });
    return client ? this.repo().findOne({ where: { id: client.appId } }) : null;
  }

  findClientByClientId(clientId: string): Promise<AppClientEntity | null> {
    return this.clients().findOne({ where: { clientId } });
  }

  async clientsOf(appIds: number[], manager?: EntityManager): Promise<AppClientEntity[]> {
    return appIds.length === 0 ? [] : this.clients(manager).findBy({ appId: In(appIds) });
  }

  async saveClient(manager: EntityManager, client: Partial<AppClientEntity>): Promise<void> {
    await this.clients(manager).save(this.clients(manager).create(client));
    await this.stamps.bump(manager, 'apps');
  }

  async deleteClient(manager: EntityManager, appId: number, protocol: ClientProtocol): Promise<void> {
    await this.clients(manager).delete({ appId, protocol });
    await this.stamps.bump(manager, 'apps');
  }
}
