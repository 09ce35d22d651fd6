import { dirname, join } from 'node:path';
import { config as loadDotenv } from 'dotenv';
import { validateEnvironment, type EnvironmentSchema, type LogLevel } from './config.schema';

export type DatabaseSettings =
  { kind: 'sqlite'; path: string } | { kind: 'mysql'; url: string; poolSize: number };

export type TrustProxySetting = boolean | number | string[];

/** Typed, validated configuration; the only place that reads process.env. */
export class AppConfig {
  readonly env: EnvironmentSchema['NODE_ENV'];
  readonly port: number;
  readonly host: string;
  readonly baseUrl: string;
  readonly trustProxy: TrustProxySetting;
  readonly database: DatabaseSettings;
  readonly redisUrl?: string;
  readonly logLevel: LogLevel;
  readonly timeZone: string;
  readonly adminPassword?: string;
  readonly swaggerEnabled: boolean;
  readonly audit: { enabled: boolean; retentionDays: number };
  readonly metrics: { enabled: boolean; token?: string; workerPort: number };
  readonly shutdownTimeoutMs: number;
  readonly jobs: { leaseSeconds: number; concurrency: number };
  readonly dingtalk: {
    apiBase: string;
    newApiBase: string;
    appKey: string;
    appSecret: string;
    corpId: string;
    corpSecret: string;
    qrAppId: string;
    qrAppSecret: string;
    maxRps: number;
    pullCron: string;
    pushCron: string;
    leaverPolicy: 'disable' | 'delete' | 'ignore';
    leaverDeleteDays: number;
  };
  readonly secretKey: { value?: string; file: string };
  readonly oidc: {
    accessTokenTtlSeconds: number;
    idTokenTtlSeconds: number;
    codeTtlSeconds: number;
    refreshTokenTtlSeconds: number;
  };
  readonly tokens: { idleTtlSeconds: number; absoluteTtlSeconds: number };
  readonly sms: { aliyunEndpoint: string };
  readonly files: { localDir: string; maxBytes: number };
  readonly verification: { addressHourlyLimit: number; ipHourlyLimit: number };
  readonly login: {
    lockoutThreshold: number;
    lockoutSeconds: number;
    freeFailures: number;
    delayBaseMs: number;
    ipLimit: number;
    ipWindowSeconds: number;
  };

  constructor(e: EnvironmentSchema) {
    this.env = e.NODE_ENV;
    this.port = e.PORT;
    this.host = e.HOST;
    this.baseUrl = e.BASE_URL.replace(/\/+$/, '');
    this.trustProxy = parseTrustProxy(e.TRUST_PROXY);
    this.database = e.DATABASE_URL
      ? { kind: 'mysql', url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE }
      : { kind: 'sqlite', path: e.SQLITE_PATH };
    this.redisUrl = e.REDIS_URL;
    this.logLevel = e.LOG_LEVEL;
    this.timeZone = e.TIME_ZONE;
    this.adminPassword = e.ADMIN_PASSWORD;
    this.swaggerEnabled = e.SWAGGER_ENABLED;
    this.audit = { enabled: e.AUDIT_ENABLED, retentionDays: e.AUDIT_RETENTION_DAYS };
    this.metrics = { enabled: e.METRICS_ENABLED, token: e.METRICS_TOKEN, workerPort: e.WORKER_METRICS_PORT };
    this.shutdownTimeoutMs = e.SHUTDOWN_TIMEOUT_SECONDS * 1000;
    this.jobs = { leaseSeconds: e.JOB_LEASE_SECONDS, concurrency: e.WORKER_CONCURRENCY };
    this.dingtalk = {
      apiBase: e.DINGTALK_API_BASE.replace(/\/+$/, ''),
      newApiBase: e.DINGTALK_NEW_API_BASE.replace(/\/+$/, ''),
      appKey: e.DINGTALK_APP_KEY,
      appSecret: e.DINGTALK_APP_SECRET,
      corpId: e.DINGTALK_CORP_ID,
      corpSecret: e.DINGTALK_CORP_SECRET,
      qrAppId: e.DINGTALK_QR_APP_ID,
      qrAppSecret: e.DINGTALK_QR_APP_SECRET,
      maxRps: e.DINGTALK_MAX_RPS,
      pullCron: e.DINGTALK_PULL_CRON.trim(),
      pushCron: e.DINGTALK_PUSH_CRON.trim(),
      leaverPolicy: e.DINGTALK_LEAVER_POLICY,
      leaverDeleteDays: e.DINGTALK_LEAVER_DELETE_DAYS,
    };
    // Beside the SQLite database by default, so the key lives (and is backed up) with the data it opens.
    this.secretKey = {
      value: e.SECRET_KEY,
      file: e.SECRET_KEY_FILE ?? join(dirname(e.SQLITE_PATH), 'secret.key'),
    };
    this.oidc = {
      accessTokenTtlSeconds: e.OIDC_ACCESS_TOKEN_TTL_SECONDS,
      idTokenTtlSeconds: e.OIDC_ID_TOKEN_TTL_SECONDS,
      codeTtlSeconds: e.OIDC_CODE_TTL_SECONDS,
      refreshTokenTtlSeconds: e.OIDC_REFRESH_TOKEN_TTL_SECONDS,
    };
    this.tokens = {
      idleTtlSeconds: e.TOKEN_IDLE_TTL_SECONDS,
      absoluteTtlSeconds: e.TOKEN_ABSOLUTE_TTL_SECONDS,
    };
    this.sms = { aliyunEndpoint: e.ALIYUN_SMS_ENDPOINT.replace(/\/+$/, '') };
    this.files = { localDir: e.FILE_STORAGE_DIR, maxBytes: e.UPLOAD_MAX_BYTES };
    this.verification = {
      addressHourlyLimit: e.VERIFICATION_ADDRESS_HOURLY_LIMIT,
      ipHourlyLimit: e.VERIFICATION_IP_HOURLY_LIMIT,
    };
    this.login = {
      lockoutThreshold: e.LOGIN_LOCKOUT_THRESHOLD,
      lockoutSeconds: e.LOGIN_LOCKOUT_SECONDS,
      freeFailures: e.LOGIN_FREE_FAILURES,
      delayBaseMs: e.LOGIN_DELAY_BASE_MS,
      ipLimit: e.LOGIN_IP_LIMIT,
      ipWindowSeconds: e.LOGIN_IP_WINDOW_SECONDS,
    };
  }

  /** Reads `.env` (if present) under the real environment, then validates. */
  static fromEnvironment(overrides: Record<string, string | undefined> = {}): AppConfig {
    loadDotenv({ quiet: true });
    return new AppConfig(validateEnvironment({ ...process.env, ...overrides }));
  }
}

function parseTrustProxy(raw: string): TrustProxySetting {
  const value = raw.trim();
  if (value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}
