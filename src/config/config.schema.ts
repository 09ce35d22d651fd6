import { Transform, plainToInstance } from 'class-transformer';
import { isValidCron } from '../common/time/cron';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  type ValidationError,
} from 'class-validator';

/** Environment variables arrive as strings; these helpers turn them into typed values or leave them invalid. */
const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  return value;
};
const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every setting Arbor reads, with its default. Documented one-to-one in .env.example. */
export class EnvironmentSchema {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'production';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8000;

  @IsString()
  HOST = '0.0.0.0';

  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  BASE_URL = 'http://localhost:8000';

  /** Express "trust proxy": false, true, a hop count, or a comma list of addresses/CIDRs/presets. */
  @Matches(/^(false|true|\d+|[0-9a-zA-Z.:/,\s-]+)$/, {
    message: 'must be false, true, a hop count or a comma list of addresses',
  })
  TRUST_PROXY = 'false';

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^(mysql|mariadb):\/\/.+/, { message: 'must be a mysql:// or mariadb:// URL' })
  DATABASE_URL?: string;

  @IsString()
  @MinLength(1)
  SQLITE_PATH = './data/arbor.sqlite';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  @IsString()
  TIME_ZONE = 'Asia/Shanghai';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(8)
  ADMIN_PASSWORD?: string;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  TOKEN_IDLE_TTL_SECONDS = 7 * 24 * 3600;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  TOKEN_ABSOLUTE_TTL_SECONDS = 30 * 24 * 3600;

  /** Consecutive failures before an account locks; the hourly cap of 100 holds whatever this says. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  LOGIN_LOCKOUT_THRESHOLD = 10;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  LOGIN_LOCKOUT_SECONDS = 900;

  /** Failures allowed without delay; each further failure doubles the wait, starting at LOGIN_DELAY_BASE_MS. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100)
  LOGIN_FREE_FAILURES = 3;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60000)
  LOGIN_DELAY_BASE_MS = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_IP_LIMIT = 30;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  LOGIN_IP_WINDOW_SECONDS = 60;

  @Transform(toBool)
  @IsBoolean()
  SWAGGER_ENABLED = true;

  /** Days an audit log entry is kept (0 = forever); older entries are purged hourly, in batches. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(36500)
  AUDIT_RETENTION_DAYS = 0;

  /** Benchmark baseline only: false stops recording audit entries (loudly logged at start). */
  @Transform(toBool)
  @IsBoolean()
  AUDIT_ENABLED = true;

  /** Serve Prometheus metrics at /metrics (404 when off). */
  @Transform(toBool)
  @IsBoolean()
  METRICS_ENABLED = false;

  /** When set, /metrics answers only requests with `Authorization: Bearer <token>`. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16)
  METRICS_TOKEN?: string;

  /** Aliyun SMS (dysmsapi) endpoint; http://host:port for a test double. */
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  ALIYUN_SMS_ENDPOINT = 'https://dysmsapi.aliyuncs.com';

  /** Directory of uploaded files while site config `storage.method` is `local`. */
  @IsString()
  @MinLength(1)
  FILE_STORAGE_DIR = './data/files';

  /** Largest accepted upload (avatars, logos), in bytes. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(50 * 1024 * 1024)
  UPLOAD_MAX_BYTES = 2 * 1024 * 1024;

  /** Verification codes and links one address (mobile or e-mail) may be sent per hour. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  VERIFICATION_ADDRESS_HOURLY_LIMIT = 5;

  /** Verification codes and links one client IP may request per hour. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100000)
  VERIFICATION_IP_HOURLY_LIMIT = 30;

  /**
   * Master key for secrets stored in the database (OIDC signing keys, site config secrets): at least 32
   * characters. Unset, a random key is kept in SECRET_KEY_FILE (created on first start; default
   * `secret.key` beside the SQLite database); every replica needs the same one.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32)
  SECRET_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(1)
  SECRET_KEY_FILE?: string;

  /** Lifetime of access tokens issued to apps (opaque and JWT). */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(86400)
  OIDC_ACCESS_TOKEN_TTL_SECONDS = 3600;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(86400)
  OIDC_ID_TOKEN_TTL_SECONDS = 600;

  /** Authorization codes live at most 60 s. */
  @Transform(toInt)
  @IsInt()
  @Min(5)
  @Max(60)
  OIDC_CODE_TTL_SECONDS = 60;

  /** Refresh tokens (rotated at every use) expire this long after their family began. */
  @Transform(toInt)
  @IsInt()
  @Min(3600)
  @Max(365 * 86400)
  OIDC_REFRESH_TOKEN_TTL_SECONDS = 30 * 86400;

  /** Port of the worker's own /metrics (job metrics live in the process that runs the jobs). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  WORKER_METRICS_PORT = 9464;

  /** On SIGTERM, how long in-flight requests may take before the process exits anyway. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  SHUTDOWN_TIMEOUT_SECONDS = 25;

  /** How long a job's lease (and BullMQ's job lock) lasts unrenewed: a dead worker's job resumes after it. */
  @Transform(toInt)
  @IsInt()
  @Min(2)
  @Max(600)
  JOB_LEASE_SECONDS = 30;

  /** Jobs one worker process runs at once (jobs of one kind never run beside each other anyway). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(16)
  WORKER_CONCURRENCY = 2;

  /** DingTalk's old (`oapi`) and new (`api`) API hosts; point them elsewhere for tests or proxies. */
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  DINGTALK_API_BASE = 'https://oapi.dingtalk.com';

  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  DINGTALK_NEW_API_BASE = 'https://api.dingtalk.com';

  /**
   * Defaults of the DingTalk credentials: the internal app used for sync and in-app login, the corp
   * credentials and the QR-login app. What an admin saves in `config/` (`ding_config`) wins field by field.
   */
  @IsString()
  DINGTALK_APP_KEY = '';

  @IsString()
  DINGTALK_APP_SECRET = '';

  @IsString()
  DINGTALK_CORP_ID = '';

  @IsString()
  DINGTALK_CORP_SECRET = '';

  @IsString()
  DINGTALK_QR_APP_ID = '';

  @IsString()
  DINGTALK_QR_APP_SECRET = '';

  /** Requests per second Arbor sends to DingTalk per app (DingTalk allows 20 on the standard edition). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  DINGTALK_MAX_RPS = 20;

  /** Initial schedules of the DingTalk pull and push (standard 5-field cron; empty = off). */
  @IsString()
  DINGTALK_PULL_CRON = '';

  @IsString()
  DINGTALK_PUSH_CRON = '';

  /** What a pull does with users gone from DingTalk: disable, delete (after N days disabled) or ignore. */
  @IsIn(['disable', 'delete', 'ignore'])
  DINGTALK_LEAVER_POLICY: 'disable' | 'delete' | 'ignore' = 'disable';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3650)
  DINGTALK_LEAVER_DELETE_DAYS = 30;
}

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map(
      (message) => `${e.property}: ${message.replace(`${e.property} `, '')}`,
    ),
  );
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** Validates the environment once; throws a message naming every bad variable. */
export function validateEnvironment(env: Record<string, string | undefined>): EnvironmentSchema {
  const keys = Object.keys(new EnvironmentSchema());
  const known: Record<string, string> = {};
  for (const key of [
    ...keys,
    'DATABASE_URL',
    'REDIS_URL',
    'ADMIN_PASSWORD',
    'METRICS_TOKEN',
    'SECRET_KEY',
    'SECRET_KEY_FILE',
  ]) {
    const value = env[key];
    if (value !== undefined) known[key] = value;
  }
  const parsed = plainToInstance(EnvironmentSchema, known);
  const errors = validateSync(parsed, { whitelist: true });
  const problems = describe(errors);
  if (parsed.TOKEN_ABSOLUTE_TTL_SECONDS < parsed.TOKEN_IDLE_TTL_SECONDS) {
    problems.push('TOKEN_ABSOLUTE_TTL_SECONDS: must be at least TOKEN_IDLE_TTL_SECONDS');
  }
  for (const key of ['DINGTALK_PULL_CRON', 'DINGTALK_PUSH_CRON'] as const) {
    if (parsed[key] !== '' && !isValidCron(parsed[key])) {
      problems.push(`${key}: must be a 5-field cron expression (minute hour day-of-month month day-of-week)`);
    }
  }
  if (!isValidTimeZone(parsed.TIME_ZONE)) problems.push(`TIME_ZONE: unknown time zone "${parsed.TIME_ZONE}"`);
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return parsed;
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
