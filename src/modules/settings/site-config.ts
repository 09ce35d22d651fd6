import {
  DEFAULT_PASSWORD_POLICY,
  PASSWORD_RECOMMENDED_LENGTH,
  type PasswordPolicy,
} from '../accounts/password-policy';

/** The site configuration, section by section, with every secret in plain text (only in memory). */
export interface CompanyConfig {
  name_cn: string;
  fullname_cn: string;
  name_en: string;
  fullname_en: string;
  icon: string;
  address: string;
  domain: string;
  color: string;
}

export interface AccountConfig {
  allow_register: boolean;
  allow_mobile: boolean;
  allow_email: boolean;
}

export const SMS_TEMPLATE_KEYS = [
  'template_code',
  'template_register',
  'template_reset_pwd',
  'template_activate',
  'template_reset_mobile',
  'template_login',
  /** The notice to the old number when an account's mobile changes (no code in it; empty = no SMS). */
  'template_contact_changed',
] as const;
export type SmsTemplateKey = (typeof SMS_TEMPLATE_KEYS)[number];

export type SmsConfig = {
  vendor: 'aliyun';
  access_key: string;
  access_secret: string;
  signature: string;
  signature_i18n: string;
} & Record<SmsTemplateKey | `${SmsTemplateKey}_i18n`, string>;

export interface EmailConfig {
  host: string;
  port: number;
  /** true: TLS from the first byte (port 465); false: STARTTLS when the server offers it. */
  tls: boolean;
  /** SMTP user name. */
  access_key: string;
  access_secret: string;
  /** The From address; the SMTP user when empty. */
  sender: string;
  nickname: string;
  /** Set when the settings passed a live SMTP check at the last write. */
  is_valid: boolean;
}

export interface CaptchaConfig {
  /** Require an image captcha before an SMS code is sent. */
  sms: boolean;
  /** Require an image captcha before a verification mail is sent. */
  email: boolean;
  /** Require one at login once an account has this many consecutive failures (0: never). */
  login_failures: number;
}

export interface StorageConfig {
  method: 'local' | 'minio';
  end_point: string;
  access_key: string;
  secret_key: string;
  secure: boolean;
  location: string;
  bucket: string;
}

/**
 * DingTalk credentials (contract `ding_config`): the internal app (sync and in-app login), the corp
 * credentials and the QR-login app. Each `*_valid` says whether its pair passed a live check at the
 * last write that touched it.
 */
export interface DingConfig {
  app_key: string;
  app_secret: string;
  app_valid: boolean;
  corp_id: string;
  corp_secret: string;
  corp_valid: boolean;
  qr_app_id: string;
  qr_app_secret: string;
  qr_app_valid: boolean;
}

/** The three credential pairs of `ding_config` and the flag each check sets. */
export const DING_CREDENTIALS = [
  { kind: 'app', id: 'app_key', secret: 'app_secret', valid: 'app_valid' },
  { kind: 'corp', id: 'corp_id', secret: 'corp_secret', valid: 'corp_valid' },
  { kind: 'qr_app', id: 'qr_app_id', secret: 'qr_app_secret', valid: 'qr_app_valid' },
] as const;
export type DingCredentialKind = (typeof DING_CREDENTIALS)[number]['kind'];

export interface SiteConfig {
  company: CompanyConfig;
  account: AccountConfig;
  ding: DingConfig;
  sms: SmsConfig;
  email: EmailConfig;
  password: PasswordPolicy;
  captcha: CaptchaConfig;
  storage: StorageConfig;
}

export type SectionName = keyof SiteConfig;
export const SECTION_NAMES: SectionName[] = [
  'company',
  'account',
  'ding',
  'sms',
  'email',
  'password',
  'captcha',
  'storage',
];

/** Write-only fields: encrypted at rest, never in an answer, kept when a write leaves them empty. */
export const SECRET_FIELDS: { [S in SectionName]: (keyof SiteConfig[S] & string)[] } = {
  company: [],
  account: [],
  ding: ['app_secret', 'corp_secret', 'qr_app_secret'],
  sms: ['access_secret'],
  email: ['access_secret'],
  password: [],
  captcha: [],
  storage: ['secret_key'],
};

const templates = Object.fromEntries(
  SMS_TEMPLATE_KEYS.flatMap((key) => [
    [key, ''],
    [`${key}_i18n`, ''],
  ]),
) as Record<SmsTemplateKey | `${SmsTemplateKey}_i18n`, string>;

export const DEFAULT_SITE_CONFIG: SiteConfig = {
  company: {
    name_cn: '',
    fullname_cn: '',
    name_en: '',
    fullname_en: '',
    icon: '',
    address: '',
    domain: '',
    color: '',
  },
  account: { allow_register: false, allow_mobile: false, allow_email: false },
  ding: {
    app_key: '',
    app_secret: '',
    app_valid: false,
    corp_id: '',
    corp_secret: '',
    corp_valid: false,
    qr_app_id: '',
    qr_app_secret: '',
    qr_app_valid: false,
  },
  sms: {
    vendor: 'aliyun',
    access_key: '',
    access_secret: '',
    signature: '',
    signature_i18n: '',
    ...templates,
  },
  email: {
    host: '',
    port: 587,
    tls: false,
    access_key: '',
    access_secret: '',
    sender: '',
    nickname: '',
    is_valid: false,
  },
  password: DEFAULT_PASSWORD_POLICY,
  captcha: { sms: false, email: false, login_failures: 0 },
  storage: {
    method: 'local',
    end_point: '',
    access_key: '',
    secret_key: '',
    secure: true,
    location: 'us-east-1',
    bucket: '',
  },
};

/** Stored values over the defaults, keeping only known keys (a later release may drop some). */
export function withDefaults<S extends SectionName>(
  section: S,
  stored: Record<string, unknown>,
): SiteConfig[S] {
  const defaults = DEFAULT_SITE_CONFIG[section] as unknown as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...defaults };
  for (const key of Object.keys(defaults)) {
    if (key in stored && typeof stored[key] === typeof defaults[key]) merged[key] = stored[key];
  }
  return merged as unknown as SiteConfig[S];
}

/**
 * A write's effect on one section: the sent fields over the current ones; an empty or absent secret
 * keeps the stored one (ArkID: "an empty access_secret keeps the stored secret").
 */
export function mergeSection<S extends SectionName>(
  section: S,
  current: SiteConfig[S],
  patch: Partial<SiteConfig[S]>,
): SiteConfig[S] {
  const next = { ...current } as Record<string, unknown>;
  const secrets = SECRET_FIELDS[section] as string[];
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined || !(key in next)) continue;
    if (secrets.includes(key) && value === '') continue;
    next[key] = value;
  }
  return next as SiteConfig[S];
}

/** A section as answers show it: without its secrets. */
export function withoutSecrets<S extends SectionName>(
  section: S,
  value: SiteConfig[S],
): Record<string, unknown> {
  const copy = { ...(value as unknown as Record<string, unknown>) };
  for (const key of SECRET_FIELDS[section] as string[]) delete copy[key];
  return copy;
}

export function smsIsValid(sms: SmsConfig): boolean {
  return Boolean(sms.access_key && sms.access_secret && sms.signature && sms.template_code);
}

export function emailIsValid(email: EmailConfig): boolean {
  return Boolean(email.is_valid && email.host && (email.sender || email.access_key));
}

/** The read view of `config/` (contract Config), secrets left out. */
export function configView(config: SiteConfig): Record<string, unknown> {
  return {
    company_config: withoutSecrets('company', config.company),
    account_config: withoutSecrets('account', config.account),
    ding_config: withoutSecrets('ding', config.ding),
    sms_config: { ...withoutSecrets('sms', config.sms), is_valid: smsIsValid(config.sms) },
    email_config: { ...withoutSecrets('email', config.email), is_valid: emailIsValid(config.email) },
    password_config: { ...config.password, recommended_length: PASSWORD_RECOMMENDED_LENGTH },
    captcha_config: withoutSecrets('captcha', config.captcha),
  };
}

/** `config/storage/`: ArkID's shape, `minio_config` without its secret key. */
export function storageView(storage: StorageConfig): Record<string, unknown> {
  return {
    method: storage.method,
    minio_config: {
      end_point: storage.end_point,
      access_key: storage.access_key,
      secure: storage.secure,
      location: storage.location,
      bucket: storage.bucket,
    },
  };
}

export interface AccountSupport {
  support_email: boolean;
  support_mobile: boolean;
  support_email_register: boolean;
  support_mobile_register: boolean;
}

export function accountSupport(config: Pick<SiteConfig, 'account' | 'sms' | 'email'>): AccountSupport {
  const supportEmail = config.account.allow_email && emailIsValid(config.email);
  const supportMobile = config.account.allow_mobile && smsIsValid(config.sms);
  return {
    support_email: supportEmail,
    support_mobile: supportMobile,
    support_email_register: config.account.allow_register && supportEmail,
    support_mobile_register: config.account.allow_register && supportMobile,
  };
}

/** `meta/` (contract MetaInfo): what login pages may know, nothing secret. Third-party logins are off. */
export function metaView(config: SiteConfig): Record<string, unknown> {
  return {
    company_config: { ...config.company, display_name: config.company.fullname_cn },
    account_config: {
      ...accountSupport(config),
      support_ding_qr: false,
      support_alipay_qr: false,
      support_qq_qr: false,
      support_work_wechat_qr: false,
      support_wechat_qr: false,
      support_github: false,
    },
    ding_config: {
      app_key: config.ding.app_key,
      corp_id: config.ding.corp_id,
      qr_app_id: config.ding.qr_app_id,
    },
    alipay_config: { app_id: '' },
    work_wechat_config: { corp_id: '', agent_id: '' },
    wechat_config: { appid: '' },
    qq_config: { app_id: '' },
    password_config: {
      min_length: config.password.min_length,
      max_length: config.password.max_length,
      recommended_length: PASSWORD_RECOMMENDED_LENGTH,
      check_common: config.password.check_common,
      min_upper: config.password.min_upper,
      min_lower: config.password.min_lower,
      min_letter: config.password.min_letter,
      min_digit: config.password.min_digit,
      min_special: config.password.min_special,
      min_word: config.password.min_word,
      is_active: config.password.is_active,
    },
    captcha_config: { sms: config.captcha.sms, email: config.captcha.email },
  };
}
