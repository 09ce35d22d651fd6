/**
 * Log subjects and their Chinese labels (`subject_verbose`, `meta/log/`). The contract's list comes
 * first, in its order; Arbor's account events and finer user events follow. A subject not listed
 * here (an older release's, say) reads as 其他.
 */
export const AUDIT_SUBJECTS = {
  ucenter_login: '登录',
  ucenter_reset_pwd: '重置密码',
  ucenter_register: '注册',
  ucenter_activate: '激活',
  config: '系统配置',
  user_create: '创建用户',
  user_update: '修改用户信息',
  user_delete: '删除用户',
  dept_create: '创建部门',
  dept_update: '修改部门信息',
  dept_delete: '删除部门',
  dept_move: '移动部门',
  dept_member: '部门成员调整',
  group_create: '创建组',
  group_update: '修改组信息',
  group_delete: '删除组',
  group_move: '移动组',
  group_member: '组成员调整',
  app_create: '创建应用',
  app_update: '修改应用信息',
  app_delete: '删除应用',
  perm_create: '创建权限',
  perm_delete: '删除权限',
  perm_assign: '配置权限',
  ucenter_login_failed: '登录失败',
  ucenter_logout: '退出登录',
  ucenter_lockout: '账号锁定',
  ucenter_profile: '修改个人资料',
  user_password: '设置用户密码',
  user_unlock: '解锁账号',
  user_import: '导入用户',
  perm_update: '修改权限信息',
  ucenter_contact: '修改联系方式',
  ucenter_invite: '邀请用户',
  notify_failed: '通知发送失败',
  sync_ding_pull: '从钉钉同步',
  sync_ding_push: '同步到钉钉',
} as const;

export type AuditSubject = keyof typeof AUDIT_SUBJECTS;

export const OTHER_SUBJECT_LABEL = '其他';

export function isAuditSubject(value: string): value is AuditSubject {
  return Object.hasOwn(AUDIT_SUBJECTS, value);
}

export function subjectLabel(subject: string): string {
  return isAuditSubject(subject) ? AUDIT_SUBJECTS[subject] : OTHER_SUBJECT_LABEL;
}
