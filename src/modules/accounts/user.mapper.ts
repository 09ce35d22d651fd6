import type { DateTimeFormatter } from '../../common/time/date-time.formatter';
import type { EmployeeResponseDto, UserProfileResponseDto, UserResponseDto } from './dto/user-response.dto';
import { type UserEntity, UserOrigin } from './entities/user.entity';
import type { UserOrgFacts } from './user-org.link';

const NO_MEMBERSHIPS: UserOrgFacts = { nodes: [], depts: [], isExtern: false };

const ORIGIN_VERBOSE: Record<UserOrigin, string> = {
  [UserOrigin.Script]: '脚本添加',
  [UserOrigin.Admin]: '管理员添加',
  [UserOrigin.UsernameSignup]: '用户名注册',
  [UserOrigin.MobileSignup]: '手机注册',
  [UserOrigin.EmailSignup]: '邮箱注册',
};

/** Native user fields a profile page may show (ArkID `visible_fields`). */
export const NATIVE_PROFILE_FIELDS = [
  'username',
  'name',
  'email',
  'mobile',
  'employee_number',
  'gender',
  'avatar',
  'private_email',
  'position',
  'remark',
];

/** Explicit field list: nothing (password hash, internal flags) leaves the service unless named here. */
export function toUserResponse(
  user: UserEntity,
  dates: DateTimeFormatter,
  org: UserOrgFacts = NO_MEMBERSHIPS,
): UserResponseDto {
  return {
    user_id: user.id,
    username: user.username,
    name: user.name,
    email: user.email,
    mobile: user.mobile ?? '',
    employee_number: user.employeeNumber,
    gender: user.gender,
    avatar: user.avatar,
    private_email: user.privateEmail ?? '',
    position: user.position,
    remark: user.remark,
    hiredate: dates.format(user.hiredate),
    created: dates.format(user.createdAt),
    last_active_time: dates.format(user.lastActiveTime),
    is_settled: user.lastActiveTime !== null,
    is_manager: false,
    is_admin: user.isAdmin,
    is_extern_user: org.isExtern,
    is_active: user.isActive,
    origin_verbose: ORIGIN_VERBOSE[user.origin] ?? ORIGIN_VERBOSE[UserOrigin.Script],
    require_reset_password: user.requireResetPassword,
    has_password: user.passwordHash !== null,
  };
}

/** Employee = User + the nodes it directly belongs to. */
export function toEmployeeResponse(
  user: UserEntity,
  dates: DateTimeFormatter,
  org: UserOrgFacts = NO_MEMBERSHIPS,
): EmployeeResponseDto {
  return { ...toUserResponse(user, dates, org), nodes: org.nodes as Record<string, unknown>[] };
}

export function toProfileResponse(
  user: UserEntity,
  org: UserOrgFacts = NO_MEMBERSHIPS,
): Omit<UserProfileResponseDto, 'roles' | 'powers'> {
  return {
    username: user.username,
    name: user.name,
    email: user.email,
    mobile: user.mobile ?? '',
    employee_number: user.employeeNumber,
    gender: user.gender,
    avatar: user.avatar,
    private_email: user.privateEmail ?? '',
    position: user.position,
    remark: user.remark,
    depts: org.depts,
    visible_fields: NATIVE_PROFILE_FIELDS,
  };
}
