import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { UserEntity } from '../modules/accounts/entities/user.entity';
import { ApiTokenEntity } from '../modules/auth/entities/api-token.entity';
import { LoginThrottleEntity } from '../modules/auth/entities/login-throttle.entity';
import { Foundation1763800000000 } from './migrations/1763800000000-foundation';
import { Organization1763900000000 } from './migrations/1763900000000-organization';
import { ChangeStamps1763950000000 } from './migrations/1763950000000-change-stamps';
import { Permissions1764000000000 } from './migrations/1764000000000-permissions';
import { Audit1764100000000 } from './migrations/1764100000000-audit';
import { Lifecycle1764400000000 } from './migrations/1764400000000-lifecycle';
import { SiteSettingEntity } from '../modules/settings/entities/site-setting.entity';
import { CaptchaEntity } from '../modules/lifecycle/entities/captcha.entity';
import { InvitationEntity } from '../modules/lifecycle/entities/invitation.entity';
import { VerificationEntity } from '../modules/lifecycle/entities/verification.entity';
import {
  AuditActorEntity,
  AuditEntryEntity,
  AuditPendingEntity,
  AuditSummaryGramEntity,
} from '../modules/audit/entities/audit-entry.entity';
import { AdminScope1764050000000 } from './migrations/1764050000000-admin-scope';
import { Jobs1764200000000 } from './migrations/1764200000000-jobs';
import { DingTalk1764250000000 } from './migrations/1764250000000-dingtalk';
import { JobLeaseEntity, JobScheduleEntity, TaskEntity } from '../modules/jobs/entities/task.entity';
import { DingConfigEntity, DingNodeEntity, DingUserEntity } from '../modules/sync/entities/ding.entities';
import {
  ManagerGroupAppEntity,
  ManagerGroupEntity,
  ManagerGroupNodeEntity,
  ManagerGroupUserEntity,
} from '../modules/admin-scope/entities/manager-group.entity';
import { ChangeStampEntity } from '../common/database/change-stamp.entity';
import { MembershipEntity } from '../modules/org/entities/membership.entity';
import { NodeScopeNodeEntity, NodeScopeUserEntity } from '../modules/org/entities/node-scope.entity';
import { OrgNodeEntity } from '../modules/org/entities/org-node.entity';
import { AppClientEntity } from '../modules/permissions/entities/app-client.entity';
import { AppEntity } from '../modules/permissions/entities/app.entity';
import {
  PermNodeStatusEntity,
  PermUserStatusEntity,
} from '../modules/permissions/entities/perm-status.entity';
import { PermEntity } from '../modules/permissions/entities/perm.entity';
import { OidcPayloadEntity } from '../modules/oidc/entities/oidc-payload.entity';
import { SigningKeyEntity } from '../modules/oidc/entities/signing-key.entity';
import { Oidc1764310000000 } from './migrations/1764310000000-oidc';
import { OidcAccounts1764320000000 } from './migrations/1764320000000-oidc-accounts';
import { BackchannelLogout1764500000000 } from './migrations/1764500000000-backchannel-logout';
import { DingConfigToSettings1764650000000 } from './migrations/1764650000000-ding-config-to-settings';
import { AuditSummaryGrams1764600000000 } from './migrations/1764600000000-audit-summary-grams';
import { AppsStamp1764700000000 } from './migrations/1764700000000-apps-stamp';
import { OidcPartialIndexes1764750000000 } from './migrations/1764750000000-oidc-partial-indexes';
import { SettingsStamp1764760000000 } from './migrations/1764760000000-settings-stamp';
import { ClientSkipAuthorization1764800000000 } from './migrations/1764800000000-client-skip-authorization';

export const ENTITIES = [
  UserEntity,
  SiteSettingEntity,
  VerificationEntity,
  InvitationEntity,
  CaptchaEntity,
  ApiTokenEntity,
  LoginThrottleEntity,
  OrgNodeEntity,
  MembershipEntity,
  NodeScopeNodeEntity,
  NodeScopeUserEntity,
  ChangeStampEntity,
  AppEntity,
  AppClientEntity,
  PermEntity,
  PermUserStatusEntity,
  PermNodeStatusEntity,
  AuditEntryEntity,
  AuditActorEntity,
  AuditSummaryGramEntity,
  AuditPendingEntity,
  TaskEntity,
  JobLeaseEntity,
  JobScheduleEntity,
  DingConfigEntity,
  DingUserEntity,
  DingNodeEntity,
  ManagerGroupEntity,
  ManagerGroupNodeEntity,
  ManagerGroupUserEntity,
  ManagerGroupAppEntity,
  OidcPayloadEntity,
  SigningKeyEntity,
];
export const MIGRATIONS = [
  Foundation1763800000000,
  Organization1763900000000,
  ChangeStamps1763950000000,
  Permissions1764000000000,
  AdminScope1764050000000,
  Audit1764100000000,
  Jobs1764200000000,
  DingTalk1764250000000,
  Oidc1764310000000,
  OidcAccounts1764320000000,
  Lifecycle1764400000000,
  BackchannelLogout1764500000000,
  AuditSummaryGrams1764600000000,
  AppsStamp1764700000000,
  DingConfigToSettings1764650000000,
  OidcPartialIndexes1764750000000,
  SettingsStamp1764760000000,
  ClientSkipAuthorization1764800000000,
];

/** One definition for the app, the CLI and the tests: SQLite by default, MySQL/MariaDB via DATABASE_URL. */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: false,
  } as const;
  if (config.database.kind === 'mysql') {
    return {
      ...common,
      // `mariadb://` selects TypeORM's MariaDB dialect (it reads MariaDB's catalog differently from MySQL 8).
      type: config.database.url.startsWith('mariadb:') ? 'mariadb' : 'mysql',
      url: config.database.url.replace(/^mariadb:/, 'mysql:'),
      charset: 'utf8mb4_unicode_ci',
      timezone: 'Z',
      poolSize: config.database.poolSize,
      supportBigNumbers: true,
    };
  }
  if (config.database.path !== ':memory:') mkdirSync(dirname(config.database.path), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: config.database.path,
    // WAL lets readers proceed during writes; NORMAL sync is durable across application crashes.
    // The API and worker checkpoint the log from a thread (WalCheckpointer); a commit checkpoints
    // only past 4,000 pages (16 MB), and a log that grew past 32 MB shrinks when it starts over.
    prepareDatabase: (db: { pragma(statement: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('wal_autocheckpoint = 4000');
      db.pragma('journal_size_limit = 33554432');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
    },
  };
}

export function createDataSource(config: AppConfig): DataSource {
  return new DataSource(dataSourceOptions(config));
}
