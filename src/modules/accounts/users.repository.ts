import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, type EntityManager, IsNull, type SelectQueryBuilder } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { DirectSql } from '../../common/database/direct-sql';
import { datetimeParameter } from '../../common/database/transaction-runner';
import type { PageRequest } from '../../common/pagination/pagination';
import { UserEntity } from './entities/user.entity';
import { TEXT_FIELDS, type UserListFilter } from './user-list-query';
import type { UserCondition } from './user-org.link';

export type LoginIdentifier = 'username' | 'private_email' | 'mobile';
export type UniqueField = 'username' | 'private_email' | 'mobile';

/** Columns the per-request and per-login lookups select a live user by (each has a unique index). */
type HotLookup = 'id' | 'username' | 'privateEmail' | 'mobile';
const LOGIN_PROPERTIES: Record<LoginIdentifier, HotLookup> = {
  username: 'username',
  private_email: 'privateEmail',
  mobile: 'mobile',
};

/** `LIKE` with the wildcards of the needle escaped; `!` is an escape character both dialects accept. */
function likeContains(needle: string): string {
  return `%${needle.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/** Ids per IN list: below SQLite's and MySQL's bound-parameter limits, large enough to be few queries. */
const ID_CHUNK = 500;
/** Plain id lists bind well past 500 on both engines (SQLite allows 32766 parameters). */
const LITE_CHUNK = 5000;

@Injectable()
export class UsersRepository {
  private readonly hotLookups = new Map<HotLookup, { sql: string; columns: ColumnMetadata[] }>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sql: DirectSql,
  ) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(UserEntity);
  }

  findLiveById(id: number, manager?: EntityManager): Promise<UserEntity | null> {
    return this.repo(manager).findOne({ where: { id, deletedAt: IsNull() } });
  }

  async superuserIds(): Promise<number[]> {
    const rows = await this.repo().find({
      select: { id: true },
      where: { isAdmin: true, deletedAt: IsNull() },
    });
    return rows.map((r) => r.id);
  }

  /**
   * The same row as findLiveById, for the user behind every authenticated request: one prepared
   * statement for all users through DirectSql (find() inlines the id on SQLite, so each user would
   * compile a new statement, and its pipeline costs more than the lookup), hydrated as find() does.
   */
  findLiveForSession(id: number): Promise<UserEntity | null> {
    return this.findLiveBy('id', id);
  }

  /** findLiveByIdentifier for a login: the same raw, prepared lookup on the identifier's unique index. */
  findLoginCandidate(kind: LoginIdentifier, value: string): Promise<UserEntity | null> {
    return this.findLiveBy(LOGIN_PROPERTIES[kind], value);
  }

  private async findLiveBy(property: HotLookup, value: number | string): Promise<UserEntity | null> {
    const query = this.hotLookups.get(property) ?? this.buildHotLookup(property);
    const rows = await this.sql.rows<Record<string, unknown>>(query.sql, [value]);
    const row = rows[0];
    if (!row) return null;
    const user = new UserEntity();
    const fields = user as unknown as Record<string, unknown>;
    for (const c of query.columns)
      fields[c.propertyName] = this.dataSource.driver.prepareHydratedValue(row[c.databaseName], c);
    return user;
  }

  private buildHotLookup(property: HotLookup): { sql: string; columns: ColumnMetadata[] } {
    const metadata = this.dataSource.getMetadata(UserEntity);
    const escape = (name: string) => this.dataSource.driver.escape(name);
    const column = (name: keyof UserEntity) => {
      const found = metadata.findColumnWithPropertyName(name);
      if (!found) throw new Error(`UserEntity has no column ${name}`);
      return escape(found.databaseName);
    };
    const query = {
      sql:
        `SELECT ${metadata.columns.map((c) => escape(c.databaseName)).join(', ')} FROM ${escape(metadata.tableName)} ` +
        `WHERE ${column(property)} = ? AND ${column('deletedAt')} IS NULL`,
      columns: metadata.columns,
    };
    this.hotLookups.set(property, query);
    return query;
  }

  findLiveByUsername(username: string, manager?: EntityManager): Promise<UserEntity | null> {
    return this.repo(manager).findOne({ where: { username, deletedAt: IsNull() } });
  }

  findLiveByIdentifier(kind: LoginIdentifier, value: string): Promise<UserEntity | null> {
    const where =
      kind === 'username'
        ? { username: value }
        : kind === 'private_email'
          ? { privateEmail: value }
          : { mobile: value };
    return this.repo().findOne({ where: { ...where, deletedAt: IsNull() } });
  }

  /** The first unique field whose value another live user already holds. */
  async findConflict(
    manager: EntityManager,
    values: Partial<Record<UniqueField, string | null>>,
    exceptUserId?: number,
  ): Promise<UniqueField | null> {
    const columns: Record<UniqueField, keyof UserEntity> = {
      username: 'username',
      private_email: 'privateEmail',
      mobile: 'mobile',
    };
    for (const field of Object.keys(columns) as UniqueField[]) {
      const value = values[field];
      if (value === undefined || value === null) continue;
      const holder = await this.repo(manager).findOne({
        select: { id: true },
        where: { [columns[field]]: value },
      });
      if (holder && holder.id !== exceptUserId) return field;
    }
    return null;
  }

  insert(manager: EntityManager, user: Partial<UserEntity>): Promise<UserEntity> {
    return this.repo(manager).save(this.repo(manager).create(user));
  }

  save(manager: EntityManager, user: UserEntity): Promise<UserEntity> {
    return this.repo(manager).save(user);
  }

  async updatePasswordHash(manager: EntityManager, userId: number, passwordHash: string): Promise<void> {
    await this.repo(manager).update({ id: userId }, { passwordHash });
  }

  countLiveUsers(manager?: EntityManager): Promise<number> {
    return this.repo(manager).count({ where: { deletedAt: IsNull() } });
  }

  countActiveAdmins(manager: EntityManager): Promise<number> {
    return this.repo(manager).count({ where: { deletedAt: IsNull(), isAdmin: true, isActive: true } });
  }

  /** Sets the activity time unless another replica set it within `minIntervalMs`. */
  async touchLastActive(
    manager: EntityManager,
    userId: number,
    now: Date,
    minIntervalMs: number,
  ): Promise<void> {
    await this.repo(manager)
      .createQueryBuilder()
      .update(UserEntity)
      .set({ lastActiveTime: now })
      .where('id = :userId', { userId })
      .andWhere(
        new Brackets((qb) =>
          qb.where('last_active_time IS NULL').orWhere('last_active_time < :threshold', {
            threshold: datetimeParameter(this.dataSource, new Date(now.getTime() - minIntervalMs)),
          }),
        ),
      )
      .execute();
  }

  /** Live users matching the filter and the other rooms' conditions (memberships, later scope). */
  async listUsers(
    filter: UserListFilter,
    page: PageRequest,
    conditions: UserCondition[],
    options: { includeAdmins: boolean },
  ): Promise<[UserEntity[], number]> {
    const qb = this.repo().createQueryBuilder('u').where('u.deleted_at IS NULL');
    if (!options.includeAdmins) qb.andWhere('u.is_admin = :no', { no: false });
    this.applyFilter(qb, filter);
    for (const condition of conditions) qb.andWhere(condition.sql, condition.params);
    for (const { column, descending } of filter.sort)
      qb.addOrderBy(`u.${column}`, descending ? 'DESC' : 'ASC');
    qb.addOrderBy('u.id', 'ASC');
    return qb.skip(page.offset).take(page.pageSize).getManyAndCount();
  }

  /** Live users by id, in no particular order (callers order them); chunked to stay under bind limits. */
  async findLiveByIds(ids: number[], manager?: EntityManager): Promise<UserEntity[]> {
    const found: UserEntity[] = [];
    for (let start = 0; start < ids.length; start += ID_CHUNK) {
      const chunk = ids.slice(start, start + ID_CHUNK);
      found.push(
        ...(await this.repo(manager)
          .createQueryBuilder('u')
          .where('u.id IN (:...chunk)', { chunk })
          .andWhere('u.deleted_at IS NULL')
          .getMany()),
      );
    }
    return found;
  }

  /** id, username and name only, read raw: enough for the member lists of large trees. */
  async findLiteByIds(ids: number[]): Promise<Pick<UserEntity, 'id' | 'username' | 'name'>[]> {
    const found: Pick<UserEntity, 'id' | 'username' | 'name'>[] = [];
    for (let start = 0; start < ids.length; start += LITE_CHUNK) {
      const chunk = ids.slice(start, start + LITE_CHUNK);
      const rows: { id: number | string; username: string; name: string }[] = await this.dataSource.query(
        `SELECT id, username, name FROM users WHERE deleted_at IS NULL AND id IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const row of rows) found.push({ id: Number(row.id), username: row.username, name: row.name });
    }
    return found;
  }

  async findLiveByUsernames(usernames: string[], manager?: EntityManager): Promise<UserEntity[]> {
    const found: UserEntity[] = [];
    for (let start = 0; start < usernames.length; start += ID_CHUNK) {
      const chunk = usernames.slice(start, start + ID_CHUNK);
      found.push(
        ...(await this.repo(manager)
          .createQueryBuilder('u')
          .where('u.username IN (:...chunk)', { chunk })
          .andWhere('u.deleted_at IS NULL')
          .getMany()),
      );
    }
    return found;
  }

  /** The ids of the live users among these usernames, read raw (no entities): for bulk checks. */
  async liveIdsByUsername(usernames: string[], manager?: EntityManager): Promise<Map<string, number>> {
    const ids = new Map<string, number>();
    for (let start = 0; start < usernames.length; start += LITE_CHUNK) {
      const chunk = usernames.slice(start, start + LITE_CHUNK);
      const rows: { id: number | string; username: string }[] = await (
        manager ?? this.dataSource.manager
      ).query(
        `SELECT id, username FROM users WHERE deleted_at IS NULL AND username IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const row of rows) ids.set(row.username, Number(row.id));
    }
    return ids;
  }

  /** Which live user holds each of these values of a unique column; read raw, like liveIdsByUsername. */
  async holdersOf(
    column: 'private_email' | 'mobile',
    values: string[],
    manager?: EntityManager,
  ): Promise<Map<string, number>> {
    const holders = new Map<string, number>();
    for (let start = 0; start < values.length; start += LITE_CHUNK) {
      const chunk = values.slice(start, start + LITE_CHUNK);
      const rows: { id: number | string; value: string | null }[] = await (
        manager ?? this.dataSource.manager
      ).query(
        `SELECT id, ${column} AS value FROM users WHERE deleted_at IS NULL AND ${column} IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const row of rows) if (row.value !== null) holders.set(row.value, Number(row.id));
    }
    return holders;
  }

  /**
   * Inserts the rows as given (column defaults for the properties they leave out), in statements of
   * ID_CHUNK rows, without reading them back. Raw: TypeORM's SQLite driver writes numbers into the SQL
   * text, so each batch would prepare (and keep in its statement cache) a different 500-row statement.
   */
  async insertMany(manager: EntityManager, users: Partial<UserEntity>[]): Promise<void> {
    const metadata = manager.connection.getMetadata(UserEntity);
    const driver = manager.connection.driver;
    const groups = new Map<string, { properties: string[]; rows: Partial<UserEntity>[] }>();
    for (const user of users) {
      const properties = Object.keys(user).filter((p) => user[p as keyof UserEntity] !== undefined);
      const key = properties.join(',');
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { properties, rows: [] }));
      group.rows.push(user);
    }
    for (const { properties, rows } of groups.values()) {
      const columns = properties.map((property) => {
        const column = metadata.findColumnWithPropertyName(property);
        if (!column) throw new Error(`UserEntity has no column for ${property}`);
        return column;
      });
      const names = columns.map((c) => driver.escape(c.databaseName)).join(', ');
      const placeholders = `(${columns.map(() => '?').join(', ')})`;
      for (let start = 0; start < rows.length; start += ID_CHUNK) {
        const chunk = rows.slice(start, start + ID_CHUNK);
        await manager.query(
          `INSERT INTO users (${names}) VALUES ${chunk.map(() => placeholders).join(', ')}`,
          chunk.flatMap((row) =>
            columns.map((c) => driver.preparePersistentValue(c.getEntityValue(row), c) as unknown),
          ),
        );
      }
    }
  }

  async updateFields(manager: EntityManager, id: number, changes: Partial<UserEntity>): Promise<void> {
    await this.repo(manager).update({ id }, changes);
  }

  /** Every live user's id, ascending (the permission room lists who holds a permission). */
  async liveIds(): Promise<number[]> {
    const rows: { id: number | string }[] = await this.dataSource.query(
      'SELECT id FROM users WHERE deleted_at IS NULL ORDER BY id',
    );
    return rows.map((r) => Number(r.id));
  }

  /** Keyset page of live users by id, for streaming exports. */
  pageAfter(afterId: number, limit: number, usernames?: string[]): Promise<UserEntity[]> {
    const qb = this.repo()
      .createQueryBuilder('u')
      .where('u.deleted_at IS NULL')
      .andWhere('u.id > :afterId', { afterId });
    if (usernames) qb.andWhere('u.username IN (:...usernames)', { usernames });
    return qb.orderBy('u.id', 'ASC').take(limit).getMany();
  }

  private applyFilter(qb: SelectQueryBuilder<UserEntity>, filter: UserListFilter): void {
    const date = (d: Date) => datetimeParameter(this.dataSource, d);
    if (filter.keyword) {
      const keyword = likeContains(filter.keyword);
      qb.andWhere(
        new Brackets((inner) => {
          for (const column of ['username', 'email', 'private_email', 'mobile', 'name']) {
            inner.orWhere(`LOWER(u.${column}) LIKE LOWER(:keyword) ESCAPE '!'`, { keyword });
          }
        }),
      );
    }
    for (const field of TEXT_FIELDS) {
      const exact = filter.exact[field];
      if (exact !== undefined) qb.andWhere(`u.${field} = :exact_${field}`, { [`exact_${field}`]: exact });
      const contains = filter.contains[field];
      if (contains !== undefined) {
        qb.andWhere(`LOWER(u.${field}) LIKE LOWER(:contains_${field}) ESCAPE '!'`, {
          [`contains_${field}`]: likeContains(contains),
        });
      }
    }
    if (filter.gender !== undefined) qb.andWhere('u.gender = :gender', { gender: filter.gender });
    if (filter.createdGte)
      qb.andWhere('u.created_at >= :createdGte', { createdGte: date(filter.createdGte) });
    if (filter.createdLte)
      qb.andWhere('u.created_at <= :createdLte', { createdLte: date(filter.createdLte) });
    if (filter.lastActiveGte) {
      qb.andWhere('u.last_active_time >= :lastActiveGte', { lastActiveGte: date(filter.lastActiveGte) });
    }
    if (filter.lastActiveLte) {
      qb.andWhere('u.last_active_time <= :lastActiveLte', { lastActiveLte: date(filter.lastActiveLte) });
    }
    if (filter.userIds)
      qb.andWhere(filter.userIds.length ? 'u.id IN (:...userIds)' : '1 = 0', { userIds: filter.userIds });
    if (filter.usernames) {
      qb.andWhere(filter.usernames.length ? 'u.username IN (:...usernames)' : '1 = 0', {
        usernames: filter.usernames,
      });
    }
  }
}
