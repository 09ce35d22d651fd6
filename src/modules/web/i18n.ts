/** The hosted pages' languages: Simplified Chinese (ArkID's) and English. */
export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export const LANGUAGE_COOKIE = 'arbor_lang';

const zh = {
  title_login: '登录',
  title_consent: '授权',
  title_denied: '无法访问',
  title_error: '出错了',
  title_logout: '退出登录',
  title_logged_out: '已退出',
  title_workbench: '我的应用',
  title_profile: '个人资料',
  username: '用户名 / 邮箱 / 手机号',
  password: '密码',
  sign_in: '登录',
  sign_in_to: '登录以继续使用 {app}',
  bad_credentials: '用户名或密码错误',
  locked: '登录失败次数过多，请 {seconds} 秒后再试',
  throttled: '尝试过于频繁，请 {seconds} 秒后再试',
  disabled: '账号已停用',
  missing_credentials: '请输入用户名和密码',
  csrf: '页面已过期，请重试',
  consent_intro: '{app} 请求访问您的以下信息：',
  allow: '允许',
  deny: '拒绝',
  denied_intro: '您没有访问 {app} 的权限。',
  denied_why: '访问该应用需要权限“{perm}”。请联系管理员为您开通，开通后即可立即使用。',
  denied_back: '返回应用',
  retry: '重试',
  error_intro: '请求无法完成：',
  logout_question: '确定要退出登录吗？',
  logout_from: '这将退出 Arbor 以及通过它登录的应用（{app}）。',
  logout_all: '这将退出 Arbor 以及通过它登录的所有应用。',
  logout_yes: '退出登录',
  logout_no: '取消',
  logged_out: '您已安全退出。',
  no_apps: '暂无可用应用',
  open: '打开',
  sign_out: '退出登录',
  name: '姓名',
  email: '邮箱',
  mobile: '手机号',
  save: '保存',
  saved: '已保存',
  scope_openid: '您的账号标识',
  scope_profile: '基本资料（姓名、用户名、头像）',
  scope_email: '邮箱地址',
  scope_phone: '手机号码',
  scope_groups: '所属部门和组',
  scope_perms: '您在该应用中的权限',
  scope_offline_access: '在您离线时保持访问',
  'scope_arbor.read': '以您的身份读取 Arbor 数据',
  title_register: '注册',
  title_activate: '激活账号',
  title_reset: '重置密码',
  forgot_password: '忘记密码？',
  register_link: '注册新账号',
  by_email: '通过邮箱',
  by_sms: '通过手机短信',
  email_address: '邮箱地址',
  mobile_number: '手机号',
  account_username: '用户名',
  username_rule: '4–16 位小写字母或数字',
  code: '短信验证码',
  new_password: '新密码',
  send_link: '发送链接',
  send_code: '发送验证码',
  link_sent: '如果该地址可以使用，我们已向它发送了一封邮件，请在 24 小时内打开其中的链接。',
  code_sent: '如果该号码可以使用，我们已向它发送了验证码（5 分钟内有效）。',
  register_submit: '注册',
  reset_submit: '设置新密码',
  activate_submit: '激活',
  registration_closed: '暂未开放注册',
  link_invalid: '链接无效或已被使用，请重新获取',
  link_expired: '链接已过期，请重新获取',
  code_invalid: '验证码错误',
  code_expired: '验证码已过期，请重新获取',
  code_attempts: '错误次数过多，请重新获取验证码',
  wait: '请求过于频繁，请 {seconds} 秒后再试',
  reset_done: '密码已重置，请使用新密码登录。',
  activated: '账号已激活，请登录。',
  activate_intro: '{name}（{username}），请验证身份并设置密码以激活账号。',
  activate_for: '为 {username} 设置密码',
  reset_for: '为 {username} 设置新密码',
  register_for: '以 {email} 注册',
  no_channel: '暂无可用的验证方式，请联系管理员。',
  sms_login: '手机验证码登录',
  send_again: '重新发送',
  captcha: '图形验证码',
  captcha_required: '请输入图形验证码',
  captcha_invalid: '图形验证码错误，请重新输入',
  mobile_invalid: '请输入正确的手机号',
  code_required: '请输入短信验证码',
  sms_unavailable: '暂不支持短信验证码',
  change_email: '修改邮箱',
  change_mobile: '修改手机号',
  new_email: '新邮箱地址',
  new_mobile: '新手机号',
  current_password: '当前密码',
  confirm_email: '确认新邮箱',
  confirm_email_for: '将邮箱修改为 {email}',
  email_changed: '邮箱已修改',
  mobile_changed: '手机号已修改',
  password_invalid: '密码错误',
  email_invalid: '请输入正确的邮箱地址',
  email_unavailable: '暂不支持邮箱验证',
  address_taken: '该地址已被其他账号使用',
  sessions: '登录设备',
  this_device: '当前设备',
  signed_in_at: '最近使用 {time}',
  revoke: '退出该设备',
  revoked: '已退出该设备',
  no_other_sessions: '没有其他登录设备',
  language: 'English',
};

const en: Record<keyof typeof zh, string> = {
  title_login: 'Sign in',
  title_consent: 'Authorize',
  title_denied: 'Access denied',
  title_error: 'Something went wrong',
  title_logout: 'Sign out',
  title_logged_out: 'Signed out',
  title_workbench: 'My apps',
  title_profile: 'Profile',
  username: 'Username, email or mobile',
  password: 'Password',
  sign_in: 'Sign in',
  sign_in_to: 'Sign in to continue to {app}',
  bad_credentials: 'Wrong username or password',
  locked: 'Too many failed attempts. Try again in {seconds} seconds',
  throttled: 'Too many attempts. Try again in {seconds} seconds',
  disabled: 'This account is disabled',
  missing_credentials: 'Enter your username and password',
  csrf: 'This page expired. Please try again',
  consent_intro: '{app} asks for access to:',
  allow: 'Allow',
  deny: 'Deny',
  denied_intro: 'You may not use {app}.',
  denied_why:
    'Using this app needs the permission “{perm}”. Ask your administrator to grant it; it applies at once.',
  denied_back: 'Back to the app',
  retry: 'Try again',
  error_intro: 'The request could not be completed:',
  logout_question: 'Sign out?',
  logout_from: 'This signs you out of Arbor and of the apps you signed in to through it ({app}).',
  logout_all: 'This signs you out of Arbor and of every app you signed in to through it.',
  logout_yes: 'Sign out',
  logout_no: 'Cancel',
  logged_out: 'You are signed out.',
  no_apps: 'No apps yet',
  open: 'Open',
  sign_out: 'Sign out',
  name: 'Name',
  email: 'Email',
  mobile: 'Mobile',
  save: 'Save',
  saved: 'Saved',
  scope_openid: 'Your account identifier',
  scope_profile: 'Your basic profile (name, username, picture)',
  scope_email: 'Your email address',
  scope_phone: 'Your mobile number',
  scope_groups: 'Your departments and groups',
  scope_perms: 'Your permissions in this app',
  scope_offline_access: 'Access while you are away',
  'scope_arbor.read': 'Read Arbor data as you',
  title_register: 'Sign up',
  title_activate: 'Activate your account',
  title_reset: 'Reset password',
  forgot_password: 'Forgot your password?',
  register_link: 'Create an account',
  by_email: 'By email',
  by_sms: 'By text message',
  email_address: 'Email address',
  mobile_number: 'Mobile number',
  account_username: 'Username',
  username_rule: '4 to 16 lowercase letters or digits',
  code: 'Code from the text message',
  new_password: 'New password',
  send_link: 'Send link',
  send_code: 'Send code',
  link_sent: 'If this address can be used, we mailed it a link. Open it within 24 hours.',
  code_sent: 'If this number can be used, we sent it a code (valid for 5 minutes).',
  register_submit: 'Sign up',
  reset_submit: 'Set new password',
  activate_submit: 'Activate',
  registration_closed: 'Registration is closed',
  link_invalid: 'This link is invalid or was already used. Ask for a new one',
  link_expired: 'This link expired. Ask for a new one',
  code_invalid: 'Wrong code',
  code_expired: 'This code expired. Ask for a new one',
  code_attempts: 'Too many wrong attempts. Ask for a new code',
  wait: 'Too many requests. Try again in {seconds} seconds',
  reset_done: 'Your password was reset. Sign in with the new one.',
  activated: 'Your account is active. Sign in.',
  activate_intro: '{name} ({username}), prove it is you and choose a password to activate your account.',
  activate_for: 'Choose a password for {username}',
  reset_for: 'Choose a new password for {username}',
  register_for: 'Sign up as {email}',
  no_channel: 'No way to verify you is set up. Ask your administrator.',
  sms_login: 'Sign in with a text message code',
  send_again: 'Send again',
  captcha: 'Characters in the picture',
  captcha_required: 'Enter the characters in the picture',
  captcha_invalid: 'Those were not the characters in the picture. Try the new one',
  mobile_invalid: 'Enter a valid mobile number',
  code_required: 'Enter the code from the text message',
  sms_unavailable: 'Text message codes are not available',
  change_email: 'Change email',
  change_mobile: 'Change mobile number',
  new_email: 'New email address',
  new_mobile: 'New mobile number',
  current_password: 'Current password',
  confirm_email: 'Confirm new email',
  confirm_email_for: 'Change your email to {email}',
  email_changed: 'Your email address was changed',
  mobile_changed: 'Your mobile number was changed',
  password_invalid: 'Wrong password',
  email_invalid: 'Enter a valid email address',
  email_unavailable: 'Email verification is not available',
  address_taken: 'Another account uses this address',
  sessions: 'Signed-in devices',
  this_device: 'This device',
  signed_in_at: 'Last used {time}',
  revoke: 'Sign out this device',
  revoked: 'That device is signed out',
  no_other_sessions: 'No other devices are signed in',
  language: '中文',
};

export type MessageKey = keyof typeof zh;
const MESSAGES: Record<Language, Record<MessageKey, string>> = { 'zh-CN': zh, en };

/** The chosen language (cookie), else the best match of Accept-Language, else Chinese. */
export function pickLanguage(cookieValue: string | undefined, acceptLanguage: string | undefined): Language {
  if (cookieValue === 'en' || cookieValue === 'zh-CN') return cookieValue;
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.find((p) => p.trim().startsWith('q='));
      return { tag: tag.trim().toLowerCase(), q: q ? Number(q.trim().slice(2)) || 0 : 1, index };
    })
    .filter((e) => e.tag !== '' && e.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranked) {
    if (tag === 'zh' || tag.startsWith('zh-')) return 'zh-CN';
    if (tag === 'en' || tag.startsWith('en-')) return 'en';
  }
  return 'zh-CN';
}

export type Translate = (key: MessageKey, values?: Record<string, string>) => string;

export function translator(language: Language): Translate {
  return (key, values = {}) =>
    MESSAGES[language][key].replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

export function scopeLabel(language: Language, scope: string): string {
  const key = `scope_${scope}`;
  return key in zh ? MESSAGES[language][key as MessageKey] : scope;
}

/** The language a cookie header names, for pages rendered outside Express (the provider's). */
export function languageCookieFrom(cookieHeader: string): string | undefined {
  for (const part of cookieHeader.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === LANGUAGE_COOKIE || name === `__Host-${LANGUAGE_COOKIE}`) return value.join('=');
  }
  return undefined;
}
