import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { AuditService } from '../audit/audit.service';
import { type AdminActor, type AdminScope, UNRESTRICTED_SCOPE } from '../../common/guards/admin-scope';
import { TransactionRunner, uniqueViolationIndex } from '../../common/database/transaction-runner';
import { type Page, pageRequest, toPage } from '../../common/pagination/pagination';
import { Clock } from '../../common/time/clock';
import { DateTimeFormatter } from '../../common/time/date-time.formatter';
import { AccountErrors } from './accounts.errors';
import { AdminScopeLink } from './admin-scope.link';
import type {
  CreateUserDto,
  SetPasswordDto,
  UpdateProfileDto,
  UpdateUserDto,
  UserFieldsDto,
} from './dto/user-input.dto';
import type { EmployeeResponseDto, UserProfileResponseDto, UserResponseDto } from './dto/user-response.dto';
import { type UserEntity, UserOrigin } from './entities/user.entity';
import { PasswordHasher } from './password-hasher.service';
import { passwordProblems } from './password-policy';
import { PasswordPolicySource } from './password-policy.source';
import { parseMemberListQuery, parseUserListQuery, type UserListFilter } from './user-list-query';
import { UserLifecycleHooks } from './user-lifecycle.hooks';
import { UserAnswerHooks } from './user-answer.hooks';
import { type UserCondition, UserOrgLink } from './user-org.link';
import { toEmployeeResponse, toProfileResponse, toUserResponse } from './user.mapper';
import { type LoginIdentifier, type UniqueField, UsersRepository } from './users.repository';

/** Writable user fields in request (snake_case) and entity (camelCase) spelling. */
const WRITABLE: [keyof UserFieldsDto, keyof UserEntity][] = [
  ['name', 'name'],
  ['email', 'email'],
  ['private_email', 'privateEmail'],
  ['mobile', 'mobile'],
  ['employee_number', 'employeeNumber'],
  ['gender', 'gender'],
  ['avatar', 'avatar'],
  ['position', 'position'],
  ['remark', 'remark'],
  ['hiredate', 'hiredate'],
  ['require_reset_password', 'requireResetPassword'],
  ['is_active', 'isActive'],
];

const LAST_ACTIVE_INTERVAL_MS = 5 * 60 * 1000;

/** Accounts: creating, reading, changing and deleting users, their passwords and profiles. */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly tx: TransactionRunner,
    private readonly hasher: PasswordHasher,
    private readonly hooks: UserLifecycleHooks,
    private readonly dates: DateTimeFormatter,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly org: UserOrgLink,
    private readonly scopes: AdminScopeLink,
    private readonly audit: AuditService,
    private readonly passwordPolicy: PasswordPolicySource,
    private readonly answerHooks: UserAnswerHooks,
  ) {}

  async list(
    req: Request,
    query: Record<string, unknown>,
    scope: AdminScope,
  ): Promise<Page<EmployeeResponseDto>> {
    const filter = parseUserListQuery(query);
    const page = pageRequest(query);
    const conditions = [...this.membershipConditions(filter), scope.userCondition('u.id')];
    const [rows, count] = await this.users.listUsers(filter, page, conditions, { includeAdmins: false });
    return toPage(req, this.config.baseUrl, page, count, await this.toEmployeeResponses(rows));
  }

  /** `user/isolated/`: users in no department and no group. */
  async listIsolated(
    req: Request,
    query: Record<string, unknown>,
    scope: AdminScope,
  ): Promise<Page<UserResponseDto>> {
    const filter = parseUserListQuery(query);
    const page = pageRequest(query);
    const conditions = [
      ...this.membershipConditions(filter),
      this.org.view.isolated(),
      scope.userCondition('u.id'),
    ];
    const [rows, count] = await this.users.listUsers(filter, page, conditions, { includeAdmins: false });
    return toPage(req, this.config.baseUrl, page, count, await this.toUserResponses(rows));
  }

  /**
   * A page of users (admins included) by id under another room's conditions, with the member-list
   * filters of `group/{uid}/user/` read from the query.
   */
  async pageMembers(
    req: Request,
    query: Record<string, unknown>,
    conditions: UserCondition[],
  ): Promise<Page<UserResponseDto>> {
    const filter = parseMemberListQuery(query);
    const page = pageRequest(query);
    const [rows, count] = await this.users.listUsers(filter, page, conditions, { includeAdmins: true });
    return toPage(req, this.config.baseUrl, page, count, await this.toUserResponses(rows));
  }

  async getEmployee(username: string, scope: AdminScope): Promise<EmployeeResponseDto> {
    const [employee] = await this.toEmployeeResponses([await this.requireManagedByUsername(username, scope)]);
    return employee;
  }

  /** Sub-admins may place the new user only in nodes they manage. */
  async create(dto: CreateUserDto, actor: AdminActor): Promise<EmployeeResponseDto> {
    const fields = dto.user;
    const passwordHash =
      fields.password === undefined ? null : await this.hashChosenPassword(fields.password, fields.username);
    const user = await this.writeUnique(async (manager) => {
      const values = normalizedUniqueValues(fields);
      await this.assertNoConflict(manager, values);
      const draft: Partial<UserEntity> = {
        username: fields.username,
        origin: UserOrigin.Admin,
        passwordHash,
      };
      applyWritableFields(draft, fields);
      const created = await this.users.insert(manager, draft);
      await this.audit.record(manager, {
        subject: 'user_create',
        summary: `创建用户 ${created.username}`,
        targetUserId: created.id,
      });
      await this.org.view.assignOnCreate(manager, created.id, dto, actor.scope);
      return created;
    });
    const [employee] = await this.toEmployeeResponses([user]);
    return employee;
  }

  async update(username: string, dto: UpdateUserDto, actor: AdminActor): Promise<UserResponseDto> {
    const user = await this.writeUnique(async (manager) => {
      const current = await this.requireManagedByUsername(username, actor.scope, manager);
      if (dto.username !== undefined && dto.username !== username) throw AccountErrors.usernameImmutable();
      if (dto.is_active === false && current.id === actor.userId) throw AccountErrors.cannotRemoveSelf();
      await this.assertNoConflict(manager, normalizedUniqueValues(dto), current.id);
      const wasActive = current.isActive;
      applyWritableFields(current, dto);
      const saved = await this.users.save(manager, current);
      if (wasActive && !saved.isActive) await this.hooks.revokeCredentials(manager, saved.id);
      await this.audit.record(manager, {
        subject: 'user_update',
        summary: `修改用户 ${saved.username}: ${sentFields(dto)}`,
        targetUserId: saved.id,
      });
      return saved;
    });
    return this.toUserResponse(user);
  }

  /** Soft delete: the row stays as an anonymised tombstone so history can still name its id. */
  async remove(username: string, actor: AdminActor): Promise<void> {
    await this.tx.run(async (manager) => {
      const user = await this.requireManagedByUsername(username, actor.scope, manager);
      if (user.id === actor.userId) throw AccountErrors.cannotRemoveSelf();
      await this.hooks.remove(manager, user.id);
      await this.audit.record(manager, {
        subject: 'user_delete',
        summary: `删除用户 ${user.username}`,
        targetUserId: user.id,
      });
      Object.assign(user, {
        username: `~deleted~${user.id}`,
        name: '',
        email: '',
        privateEmail: null,
        mobile: null,
        employeeNumber: '',
        avatar: '',
        position: '',
        remark: '',
        passwordHash: null,
        isActive: false,
        deletedAt: this.clock.now(),
      } satisfies Partial<UserEntity>);
      await this.users.save(manager, user);
    });
  }

  async setPassword(username: string, dto: SetPasswordDto, scope: AdminScope): Promise<void> {
    const target = await this.requireManagedByUsername(username, scope);
    const passwordHash = await this.hashChosenPassword(dto.password, target.username);
    await this.tx.run(async (manager) => {
      const user = await this.requireManagedByUsername(username, scope, manager);
      user.passwordHash = passwordHash;
      user.requireResetPassword = dto.require_reset_password;
      await this.users.save(manager, user);
      await this.hooks.revokeCredentials(manager, user.id);
      await this.audit.record(manager, {
        subject: 'user_password',
        summary: `设置用户 ${user.username} 的密码`,
        targetUserId: user.id,
      });
    });
  }

  async getProfile(userId: number): Promise<UserProfileResponseDto> {
    return this.toProfileResponse(await this.requireLiveById(userId));
  }

  async updateProfile(userId: number, dto: UpdateProfileDto): Promise<UserProfileResponseDto> {
    const user = await this.tx.run(async (manager) => {
      const current = await this.requireLiveById(userId, manager);
      applyWritableFields(current, dto);
      const saved = await this.users.save(manager, current);
      await this.audit.record(manager, {
        subject: 'ucenter_profile',
        summary: `修改个人资料: ${sentFields(dto)}`,
        targetUserId: saved.id,
      });
      return saved;
    });
    return this.toProfileResponse(user);
  }

  // ---- used by the auth room ----

  findLoginCandidate(kind: LoginIdentifier, value: string): Promise<UserEntity | null> {
    return this.users.findLoginCandidate(kind, value);
  }

  findLiveById(id: number): Promise<UserEntity | null> {
    return this.users.findLiveById(id);
  }

  /** findLiveById for the user behind an authenticated request: one prepared statement for every id. */
  findLiveForSession(id: number): Promise<UserEntity | null> {
    return this.users.findLiveForSession(id);
  }

  /** Checks a password, spending the same argon2 time when there is no account or no password. */
  async verifyPassword(user: UserEntity | null, password: string): Promise<boolean> {
    if (!user) {
      await this.hasher.dummyVerify(password);
      return false;
    }
    const check = await this.hasher.verify(user.passwordHash, password);
    if (check.valid && check.needsRehash) {
      const upgraded = await this.hasher.hash(password);
      await this.tx.run((manager) => this.users.updatePasswordHash(manager, user.id, upgraded));
    }
    return check.valid;
  }

  /** Records activity at most once per interval, so busy sessions do not write on every request. */
  async recordActivity(user: UserEntity): Promise<void> {
    if (!this.activityDue(user)) return;
    await this.tx.run((manager) => this.recordActivityWithin(manager, user));
  }

  /** The same, inside a caller's transaction. */
  async recordActivityWithin(manager: EntityManager, user: UserEntity): Promise<void> {
    if (!this.activityDue(user)) return;
    const now = this.clock.now();
    await this.users.touchLastActive(manager, user.id, now, LAST_ACTIVE_INTERVAL_MS);
    user.lastActiveTime = now;
  }

  private activityDue(user: UserEntity): boolean {
    const last = user.lastActiveTime;
    return !last || this.clock.now().getTime() - last.getTime() >= LAST_ACTIVE_INTERVAL_MS;
  }

  // ---- lookups and response shapes for the rooms above accounts ----

  findLiveByUsername(username: string, manager?: EntityManager): Promise<UserEntity | null> {
    return this.users.findLiveByUsername(username, manager);
  }

  requireLiveByUsername(username: string, manager?: EntityManager): Promise<UserEntity> {
    return this.requireLive(username, manager);
  }

  /** A live user under the caller's management; anything else reads as not found (contract §4.2). */
  async requireManagedByUsername(
    username: string,
    scope: AdminScope,
    manager?: EntityManager,
  ): Promise<UserEntity> {
    const user = await this.requireLive(username, manager);
    if (!scope.managesUser(user.id)) throw AccountErrors.notFound();
    return user;
  }

  findLiveByUsernames(usernames: string[], manager?: EntityManager): Promise<UserEntity[]> {
    return this.users.findLiveByUsernames(usernames, manager);
  }

  findLiveByIds(ids: number[], manager?: EntityManager): Promise<UserEntity[]> {
    return this.users.findLiveByIds(ids, manager);
  }

  liveIds(): Promise<number[]> {
    return this.users.liveIds();
  }

  /** Live superusers: never under a sub-admin's management. */
  superuserIds(): Promise<number[]> {
    return this.users.superuserIds();
  }

  findLiteByIds(ids: number[]): Promise<Pick<UserEntity, 'id' | 'username' | 'name'>[]> {
    return this.users.findLiteByIds(ids);
  }

  /** The User fields of a sign-in answer when the caller already knows `is_extern_user`: no queries. */
  toSignInUserResponse(user: UserEntity, isExtern: boolean): UserResponseDto {
    return toUserResponse(user, this.dates, { nodes: [], depts: [], isExtern });
  }

  async toUserResponse(user: UserEntity): Promise<UserResponseDto> {
    const [response] = await this.toUserResponses([user]);
    return response;
  }

  /** User objects for a page of users: memberships and other rooms' fields, each read once for all. */
  async toUserResponses(users: UserEntity[]): Promise<UserResponseDto[]> {
    const ids = users.map((u) => u.id);
    const [facts, extras] = await Promise.all([this.org.view.factsOf(ids), this.answerHooks.extrasOf(ids)]);
    return users.map((u) => ({ ...toUserResponse(u, this.dates, facts.get(u.id)), ...extras.get(u.id) }));
  }

  private async toEmployeeResponses(users: UserEntity[]): Promise<EmployeeResponseDto[]> {
    const ids = users.map((u) => u.id);
    const [facts, extras] = await Promise.all([this.org.view.factsOf(ids), this.answerHooks.extrasOf(ids)]);
    return users.map((u) => ({ ...toEmployeeResponse(u, this.dates, facts.get(u.id)), ...extras.get(u.id) }));
  }

  /** The profile with the caller's roles and powers, so pages know which admin views to offer. */
  private async toProfileResponse(user: UserEntity): Promise<UserProfileResponseDto> {
    const subject = { id: user.id, isAdmin: user.isAdmin };
    const [facts, standing] = await Promise.all([
      this.org.view.factsOf([user.id]),
      this.scopes.view.rolesOf(subject),
    ]);
    return {
      ...toProfileResponse(user, facts.get(user.id)),
      roles: user.isAdmin ? ['admin'] : standing.isManager ? ['manager'] : [],
      powers: standing.powers,
    };
  }

  private membershipConditions(filter: UserListFilter): UserCondition[] {
    const conditions: UserCondition[] = [];
    if (filter.groupUids) conditions.push(this.org.view.groupMembership(filter.groupUids, false));
    if (filter.excludedGroupUids)
      conditions.push(this.org.view.groupMembership(filter.excludedGroupUids, true));
    return conditions;
  }

  // ---- self-service lifecycle (the lifecycle room), inside the caller's transaction ----

  findLiveByIdOrNull(id: number, manager?: EntityManager): Promise<UserEntity | null> {
    return this.users.findLiveById(id, manager);
  }

  /** A live user by id, read within the caller's transaction. */
  requireLiveByIdWithin(manager: EntityManager, id: number): Promise<UserEntity> {
    return this.requireLiveById(id, manager);
  }

  /** Creates a self-registered account (`from_register`); "existed" for a taken username, mobile or e-mail. */
  async registerWithin(
    manager: EntityManager,
    fields: {
      username: string;
      passwordHash: string;
      origin: UserOrigin.MobileSignup | UserOrigin.EmailSignup;
      mobile?: string;
      privateEmail?: string;
    },
  ): Promise<UserEntity> {
    await this.assertNoConflict(manager, {
      username: fields.username,
      mobile: fields.mobile ?? null,
      private_email: fields.privateEmail ?? null,
    });
    return this.users.insert(manager, {
      username: fields.username,
      name: fields.username,
      passwordHash: fields.passwordHash,
      origin: fields.origin,
      fromRegister: true,
      mobile: fields.mobile ?? null,
      privateEmail: fields.privateEmail ?? null,
    });
  }

  /**
   * A password chosen through a recovery or activation flow: clears `require_reset_password` and ends
   * every session of the user. `settle` marks an invitee as active (its first sign-in).
   */
  async setPasswordHashWithin(
    manager: EntityManager,
    userId: number,
    passwordHash: string | null,
    options: { settle?: boolean; username?: string; requireReset?: boolean } = {},
  ): Promise<void> {
    const changes: Partial<UserEntity> = { requireResetPassword: options.requireReset ?? false };
    if (passwordHash !== null) changes.passwordHash = passwordHash;
    if (options.settle) changes.lastActiveTime = this.clock.now();
    if (options.username !== undefined) {
      await this.assertNoConflict(manager, { username: options.username }, userId);
      changes.username = options.username;
    }
    await this.users.updateFields(manager, userId, changes);
    await this.hooks.revokeCredentials(manager, userId);
  }

  /** Changes a verified recovery address; "existed" when another live user holds it. */
  async setContactWithin(
    manager: EntityManager,
    userId: number,
    field: 'mobile' | 'private_email',
    value: string,
  ): Promise<void> {
    await this.assertNoConflict(manager, { [field]: value }, userId);
    await this.users.updateFields(
      manager,
      userId,
      field === 'mobile' ? { mobile: value } : { privateEmail: value },
    );
  }

  /**
   * Makes a user a superuser or takes the role away (site admin transfer). The user's sessions end
   * either way, so nobody keeps a session opened under the other role.
   */
  async setSuperuserWithin(manager: EntityManager, userId: number, isAdmin: boolean): Promise<void> {
    await this.users.updateFields(manager, userId, { isAdmin });
    await this.hooks.revokeCredentials(manager, userId);
  }

  /** Turns a unique-index race lost to a parallel writer into the "existed" answer; rethrows anything else. */
  rethrowUniqueViolation(error: unknown): never {
    const index = uniqueViolationIndex(error);
    if (index === null) throw error;
    if (index.includes('private_email')) throw AccountErrors.existed('private_email');
    if (index.includes('mobile')) throw AccountErrors.existed('mobile');
    throw AccountErrors.existed('username');
  }

  // ---- bulk import and export (the migration room) ----

  liveIdsByUsername(usernames: string[], manager?: EntityManager): Promise<Map<string, number>> {
    return this.users.liveIdsByUsername(usernames, manager);
  }

  holdersOf(
    field: 'private_email' | 'mobile',
    values: string[],
    manager?: EntityManager,
  ): Promise<Map<string, number>> {
    return this.users.holdersOf(field, values, manager);
  }

  /** Creates users without passwords (origin "script") inside the caller's transaction. */
  async insertImported(manager: EntityManager, rows: ImportedUserFields[]): Promise<void> {
    await this.users.insertMany(
      manager,
      rows.map((fields) => {
        const draft: Partial<UserEntity> = { username: fields.username, origin: UserOrigin.Script };
        applyWritableFields(draft, fields);
        return draft;
      }),
    );
  }

  /**
   * The changes an imported row makes to an existing user (only the columns the file has), or null
   * when it changes nothing.
   */
  importedChanges(user: UserEntity, fields: ImportedUserFields): Partial<UserEntity> | null {
    const draft: Partial<UserEntity> = {};
    applyWritableFields(draft, fields);
    const changes: Partial<UserEntity> = {};
    for (const [key, value] of Object.entries(draft) as [keyof UserEntity, unknown][]) {
      if (user[key] !== value) (changes as Record<string, unknown>)[key] = value;
    }
    return Object.keys(changes).length > 0 ? changes : null;
  }

  /** A sync or import update; turning an account off (a DingTalk leaver) or a new password ends its sessions. */
  async updateImported(manager: EntityManager, userId: number, changes: Partial<UserEntity>): Promise<void> {
    await this.users.updateFields(manager, userId, changes);
    if (changes.isActive === false || changes.passwordHash !== undefined) {
      await this.hooks.revokeCredentials(manager, userId);
    }
  }

  pageForExport(afterId: number, limit: number, usernames?: string[]): Promise<UserEntity[]> {
    return this.users.pageAfter(afterId, limit, usernames);
  }

  // ---- bootstrap and CLI ----

  countLiveUsers(): Promise<number> {
    return this.users.countLiveUsers();
  }

  /** Creates an admin, or makes an existing user one with the given password. */
  async createSuperuser(username: string, password: string, requireReset: boolean): Promise<UserEntity> {
    const passwordHash = await this.hashChosenPassword(password, username);
    return this.writeUnique(async (manager) => {
      const existing = await this.users.findLiveByUsername(username, manager);
      if (existing) {
        Object.assign(existing, {
          isAdmin: true,
          isActive: true,
          passwordHash,
          requireResetPassword: requireReset,
        });
        const saved = await this.users.save(manager, existing);
        await this.hooks.revokeCredentials(manager, saved.id);
        await this.audit.record(manager, {
          subject: 'user_update',
          summary: `设 ${saved.username} 为超级管理员并设置密码`,
          targetUserId: saved.id,
        });
        return saved;
      }
      const created = await this.users.insert(manager, {
        username,
        name: username,
        isAdmin: true,
        passwordHash,
        requireResetPassword: requireReset,
        origin: UserOrigin.Script,
      });
      await this.audit.record(manager, {
        subject: 'user_create',
        summary: `创建超级管理员 ${username}`,
        targetUserId: created.id,
      });
      return created;
    });
  }

  async resetPasswordFromCli(username: string, password: string): Promise<void> {
    await this.setPassword(username, { password, require_reset_password: false }, UNRESTRICTED_SCOPE);
  }

  /** Checks a newly chosen password against the current policy, then hashes it (outside any transaction). */
  async hashChosenPassword(password: string, username: string, field = 'password'): Promise<string> {
    const problems = passwordProblems(password, await this.passwordPolicy.current(), username);
    if (problems.length > 0) throw AccountErrors.weakPassword(problems, field);
    return this.hasher.hash(password);
  }

  private async requireLive(username: string, manager?: EntityManager): Promise<UserEntity> {
    const user = await this.users.findLiveByUsername(username, manager);
    if (!user) throw AccountErrors.notFound();
    return user;
  }

  private async requireLiveById(id: number, manager?: EntityManager): Promise<UserEntity> {
    const user = await this.users.findLiveById(id, manager);
    if (!user) throw AccountErrors.notFound();
    return user;
  }

  private async assertNoConflict(
    manager: EntityManager,
    values: Partial<Record<UniqueField, string | null>>,
    exceptUserId?: number,
  ): Promise<void> {
    const conflict = await this.users.findConflict(manager, values, exceptUserId);
    if (conflict) throw AccountErrors.existed(conflict);
  }

  /** A transaction whose unique-index race with a parallel writer still answers "existed", not 500. */
  private async writeUnique<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.tx.run(work);
    } catch (error) {
      this.rethrowUniqueViolation(error);
    }
  }
}

function normalizedUniqueValues(fields: Partial<UserFieldsDto>): Partial<Record<UniqueField, string | null>> {
  return {
    username: fields.username,
    private_email: fields.private_email === '' ? null : fields.private_email,
    mobile: fields.mobile === '' ? null : fields.mobile,
  };
}

/** The user columns a CSV import may carry; absent ones are left as they are. */
export type ImportedUserFields = Pick<UserFieldsDto, 'username'> &
  Partial<
    Pick<
      UserFieldsDto,
      'name' | 'email' | 'private_email' | 'mobile' | 'gender' | 'avatar' | 'position' | 'employee_number'
    >
  >;

/** The writable fields a request sent, for an entry's summary (values are in the masked body). */
function sentFields(fields: Partial<UserFieldsDto>): string {
  return WRITABLE.filter(([input]) => fields[input] !== undefined)
    .map(([input]) => input)
    .join(', ');
}

function applyWritableFields(target: Partial<UserEntity>, fields: Partial<UserFieldsDto>): void {
  const record = target as Record<string, unknown>;
  for (const [input, column] of WRITABLE) {
    const value = fields[input];
    if (value === undefined) continue;
    if (input === 'hiredate') record[column] = value === null ? null : new Date(value as string);
    else if (input === 'private_email' || input === 'mobile') record[column] = value === '' ? null : value;
    else record[column] = value;
  }
}
