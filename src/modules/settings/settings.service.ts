import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { MasterKey } from '../../common/crypto/master-key';
import { SecretBox } from '../../common/crypto/secret-box';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { PasswordPolicySource } from '../accounts/password-policy.source';
import type { PasswordPolicy } from '../accounts/password-policy';
import { AuditService } from '../audit/audit.service';
import type { UpdateConfigDto, UpdateStorageDto } from './dto/config-input.dto';
import { SettingsErrors } from './settings.errors';
import { SettingsRepository } from './settings.repository';
import {
  accountSupport,
  type AccountSupport,
  configView,
  DING_CREDENTIALS,
  type DingConfig,
  type DingCredentialKind,
  type EmailConfig,
  mergeSection,
  metaView,
  SECRET_FIELDS,
  SECTION_NAMES,
  type SectionName,
  type SiteConfig,
  type StorageConfig,
  storageView,
  withDefaults,
} from './site-config';

/** A live check of settings about to be saved (SMTP login, bucket access); throws a reason to refuse them. */
export type SettingsProbe<S extends SectionName> = (next: SiteConfig[S]) => Promise<void>;

/** A live check of one DingTalk credential pair (gettoken): true when DingTalk accepts it. */
export type DingCredentialCheck = (kind: DingCredentialKind, id: string, secret: string) => Promise<boolean>;

/**
 * Secrets sealed under another purpose before they moved here: DingTalk's came from the sync room's own
 * table (migration DingConfigToSettings1764650000000) and open with its key until the next write.
 */
const FORMER_PURPOSES: Partial<Record<SectionName, string>> = { ding: 'dingtalk' };

const REQUEST_SECTIONS: [keyof UpdateConfigDto, SectionName][] = [
  ['company_config', 'company'],
  ['account_config', 'account'],
  ['sms_config', 'sms'],
  ['email_config', 'email'],
  ['password_config', 'password'],
  ['captcha_config', 'captcha'],
];

/**
 * The site configuration: read by every room that needs it, written by admins (audited, in one
 * transaction). Secret fields are sealed with AES-256-GCM under a key derived from SECRET_KEY and are
 * never part of an answer. Reads check the `settings` change stamp each time (SettingsRepository), so
 * every replica sees a write on its next request.
 */
@Injectable()
export class SettingsService implements OnModuleInit {
  private readonly box: SecretBox;
  private readonly formerBoxes = new Map<SectionName, SecretBox>();
  private readonly probes = new Map<SectionName, SettingsProbe<SectionName>>();
  private dingCheck: DingCredentialCheck | null = null;

  constructor(
    private readonly repository: SettingsRepository,
    private readonly tx: TransactionRunner,
    private readonly audit: AuditService,
    private readonly passwordPolicy: PasswordPolicySource,
    masterKey: MasterKey,
    private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.box = new SecretBox(masterKey.value, 'site-config');
    for (const [section, purpose] of Object.entries(FORMER_PURPOSES) as [SectionName, string][])
      this.formerBoxes.set(section, new SecretBox(masterKey.value, purpose));
  }

  onModuleInit(): void {
    this.passwordPolicy.use(() => this.section('password'));
  }

  /** Lets a room check settings of its section live before they are saved (notifications, storage). */
  probe<S extends SectionName>(section: S, check: SettingsProbe<S>): void {
    this.probes.set(section, check as unknown as SettingsProbe<SectionName>);
  }

  /** Lets the sync room test DingTalk credentials live (gettoken) when `ding_config` is written. */
  checkDingCredentialsWith(check: DingCredentialCheck): void {
    this.dingCheck = check;
  }

  /**
   * The DingTalk credentials in force: what was saved through `config/`, else the DINGTALK_* environment
   * defaults (field by field), so a deployment can be configured either way.
   */
  async ding(): Promise<DingConfig> {
    return this.withEnvironment(await this.section('ding'));
  }

  async all(manager?: EntityManager): Promise<SiteConfig> {
    const stored = await this.repository.readAll(manager);
    const config = {} as Record<SectionName, unknown>;
    for (const name of SECTION_NAMES) config[name] = this.opened(name, stored.get(name) ?? {});
    return config as unknown as SiteConfig;
  }

  async section<S extends SectionName>(name: S): Promise<SiteConfig[S]> {
    const stored = await this.repository.readAll();
    return this.opened(name, stored.get(name) ?? {});
  }

  async accountSupport(): Promise<AccountSupport & { allow_register: boolean }> {
    const config = await this.all();
    return { ...accountSupport(config), allow_register: config.account.allow_register };
  }

  passwordPolicyNow(): Promise<PasswordPolicy> {
    return this.section('password');
  }

  async view(): Promise<Record<string, unknown>> {
    const config = await this.all();
    return configView({ ...config, ding: this.withEnvironment(config.ding) });
  }

  async meta(): Promise<Record<string, unknown>> {
    const config = await this.all();
    return metaView({ ...config, ding: this.withEnvironment(config.ding) });
  }

  async storageView(): Promise<Record<string, unknown>> {
    return storageView(await this.section('storage'));
  }

  /** PATCH/PUT config/: merges the sent sections, checks email settings live, saves all or nothing. */
  async update(dto: UpdateConfigDto): Promise<Record<string, unknown>> {
    const current = await this.all();
    const changes: Partial<Record<SectionName, unknown>> = {};
    for (const [field, name] of REQUEST_SECTIONS) {
      const patch = dto[field] as Record<string, unknown> | undefined;
      if (!patch) continue;
      if (name === 'company' && typeof patch.color === 'string') patch.color = patch.color.replace(/^#/, '');
      changes[name] = mergeSection(name, current[name], patch as Partial<SiteConfig[typeof name]>);
    }
    if (changes.email) changes.email = await this.checkedEmail(changes.email as EmailConfig);
    if (dto.ding_config) changes.ding = await this.checkedDing(current.ding, dto.ding_config);
    await this.save(changes, `修改系统配置: ${Object.keys(changes).join(', ') || '无'}`);
    const next = { ...current, ...changes } as SiteConfig;
    return configView({ ...next, ding: this.withEnvironment(next.ding) });
  }

  /** PATCH config/storage/: MinIO settings are checked (bucket reachable) before they are saved. */
  async updateStorage(dto: UpdateStorageDto): Promise<Record<string, unknown>> {
    const current = await this.section('storage');
    const patch: Partial<StorageConfig> = { ...(dto.minio_config ?? {}) };
    if (dto.method !== undefined) patch.method = dto.method;
    const next = mergeSection('storage', current, patch);
    if (next.method === 'minio') {
      if (!next.end_point || !next.bucket || !next.access_key || !next.secret_key) {
        throw SettingsErrors.probeFailed(
          'minio_config',
          'end_point, access_key, secret_key and bucket are required',
        );
      }
      await this.runProbe('storage', next, 'minio_config');
    }
    await this.save({ storage: next }, `修改文件存储: ${next.method}`);
    return storageView(next);
  }

  /**
   * Contract: vendor credentials are tested live; the `*_valid` flags are always saved, a secret only
   * when its pair passes. A pair is tested when the write touches it (its id or a new secret); an
   * empty secret keeps the stored one, and a pair missing either half is invalid.
   */
  private async checkedDing(current: DingConfig, patch: Partial<DingConfig>): Promise<DingConfig> {
    const next = { ...current };
    const effective = this.withEnvironment(current);
    for (const pair of DING_CREDENTIALS) {
      const id = patch[pair.id];
      const secret = patch[pair.secret];
      if (id === undefined && !secret) continue;
      if (id !== undefined) next[pair.id] = id;
      const candidate = { id: id ?? effective[pair.id], secret: secret || effective[pair.secret] };
      const valid =
        candidate.id !== '' && candidate.secret !== '' && (await this.testDing(pair.kind, candidate));
      next[pair.valid] = valid;
      if (valid && secret) next[pair.secret] = secret;
    }
    return next;
  }

  private async testDing(
    kind: DingCredentialKind,
    candidate: { id: string; secret: string },
  ): Promise<boolean> {
    if (!this.dingCheck) return false;
    try {
      return await this.dingCheck(kind, candidate.id, candidate.secret);
    } catch (error) {
      // DingTalk unreachable: the credentials are not known to work, so they are not saved.
      this.logger.warn({ kind, err: error }, 'DingTalk credential check failed');
      return false;
    }
  }

  /** Empty fields of the stored DingTalk settings taken from the DINGTALK_* environment. */
  private withEnvironment(stored: DingConfig): DingConfig {
    const env = this.config.dingtalk;
    return {
      ...stored,
      app_key: stored.app_key || env.appKey,
      app_secret: stored.app_secret || env.appSecret,
      corp_id: stored.corp_id || env.corpId,
      corp_secret: stored.corp_secret || env.corpSecret,
      qr_app_id: stored.qr_app_id || env.qrAppId,
      qr_app_secret: stored.qr_app_secret || env.qrAppSecret,
    };
  }

  private async checkedEmail(next: EmailConfig): Promise<EmailConfig> {
    if (!next.host) return { ...next, is_valid: false };
    await this.runProbe('email', next, 'email');
    return { ...next, is_valid: true };
  }

  private async runProbe<S extends SectionName>(
    section: S,
    next: SiteConfig[S],
    field: string,
  ): Promise<void> {
    const check = this.probes.get(section);
    if (!check) return;
    try {
      await check(next);
    } catch (error) {
      throw SettingsErrors.probeFailed(field, error instanceof Error ? error.message : String(error));
    }
  }

  private async save(changes: Partial<Record<SectionName, unknown>>, summary: string): Promise<void> {
    await this.tx.run(async (manager) => {
      for (const [name, value] of Object.entries(changes) as [SectionName, unknown][]) {
        await this.repository.write(manager, name, this.sealed(name, value as Record<string, unknown>));
      }
      await this.audit.record(manager, { subject: 'config', summary });
    });
  }

  private sealed(name: SectionName, value: Record<string, unknown>): Record<string, unknown> {
    const copy = { ...value };
    for (const key of SECRET_FIELDS[name] as string[]) {
      const plain = copy[key];
      copy[key] = typeof plain === 'string' && plain !== '' ? this.box.seal(plain) : '';
    }
    return copy;
  }

  private opened<S extends SectionName>(name: S, stored: Record<string, unknown>): SiteConfig[S] {
    const copy = { ...stored };
    for (const key of SECRET_FIELDS[name] as string[]) {
      const sealed = copy[key];
      if (typeof sealed !== 'string' || sealed === '') continue;
      try {
        copy[key] = openWithAny(sealed, this.box, this.formerBoxes.get(name));
      } catch {
        // A key rotated without re-entering the secrets: behave as unset, and say why in the log.
        this.logger.error(
          { section: name, field: key },
          'stored secret cannot be decrypted with this SECRET_KEY',
        );
        copy[key] = '';
      }
    }
    return withDefaults(name, copy);
  }
}

/** Opens with the current box, else with the one the secret was sealed under before it moved here. */
export function openWithAny(sealed: string, box: SecretBox, former?: SecretBox): string {
  try {
    return box.open(sealed);
  } catch (error) {
    if (!former) throw error;
    return former.open(sealed);
  }
}
