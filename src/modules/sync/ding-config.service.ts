import { createHash } from 'node:crypto';
import { MasterKey } from '../../common/crypto/master-key';
import { SecretBox } from '../../common/crypto/secret-box';
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { AppConfig } from '../../config/app-config';
import { AuditService } from '../audit/audit.service';
import { isValidCron } from '../../common/time/cron';
import { SchedulesService } from '../jobs/schedules.service';
import { DingTalkClient } from './dingtalk/dingtalk.client';
import type { DingConfigDto, UpdateDingConfigDto } from './dto/ding-config.dto';
import { DingConfigEntity, type LeaverPolicy } from './entities/ding.entities';
import { SyncErrors } from './sync.errors';

export const PULL_JOB = 'ding.pull';
export const PUSH_JOB = 'ding.push';

export interface EffectiveDingConfig {
  appKey: string;
  appSecret: string;
  corpId: string;
  qrAppId: string;
  qrAppSecret: string;
  leaverPolicy: LeaverPolicy;
  leaverDeleteDays: number;
}

/**
 * The DingTalk app's settings: environment defaults (DINGTALK_*), overridden by what an admin saved
 * through `sync/ding/config/` into this room's own table. Secrets saved that way are sealed under the
 * master key (SecretBox, purpose `dingtalk`) and are never returned.
 */
@Injectable()
export class DingConfigService implements OnApplicationBootstrap {
  private readonly box: SecretBox;
  private readonly clients = new Map<string, DingTalkClient>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly schedules: SchedulesService,
    private readonly tx: TransactionRunner,
    private readonly audit: AuditService,
    masterKey: MasterKey,
  ) {
    this.box = new SecretBox(masterKey.value, 'dingtalk');
  }

  /** The configured cron schedules become the initial ones; later edits through the API win. */
  async onApplicationBootstrap(): Promise<void> {
    for (const [job, cron] of [
      [PULL_JOB, this.config.dingtalk.pullCron],
      [PUSH_JOB, this.config.dingtalk.pushCron],
    ] as const) {
      if (cron !== '' && !(await this.hasScheduleRow(job))) {
        await this.schedules.set(job, cron);
      }
    }
  }

  private async hasScheduleRow(job: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query('SELECT name FROM job_schedules WHERE name = ?', [
      job,
    ]);
    return rows.length > 0;
  }

  private async row(): Promise<DingConfigEntity | null> {
    return this.dataSource.getRepository(DingConfigEntity).findOne({ where: {}, order: { id: 'ASC' } });
  }

  async effective(): Promise<EffectiveDingConfig> {
    const row = await this.row();
    const env = this.config.dingtalk;
    const secret = (sealed: string | undefined, fallback: string): string =>
      sealed ? this.box.open(sealed) : fallback;
    return {
      appKey: row?.appKey || env.appKey,
      appSecret: secret(row?.appSecretEnc, env.appSecret),
      corpId: row?.corpId || env.corpId,
      qrAppId: row?.qrAppId || env.qrAppId,
      qrAppSecret: secret(row?.qrAppSecretEnc, env.qrAppSecret),
      leaverPolicy: row?.leaverPolicy ?? env.leaverPolicy,
      leaverDeleteDays: row?.leaverDeleteDays ?? env.leaverDeleteDays,
    };
  }

  get apiBase(): string {
    return this.config.dingtalk.apiBase;
  }

  get newApiBase(): string {
    return this.config.dingtalk.newApiBase;
  }

  /** The client for the configured app; one per app key, so its token cache and rate limit are shared. */
  async client(): Promise<DingTalkClient> {
    const { appKey, appSecret } = await this.effective();
    if (!appKey || !appSecret) throw SyncErrors.notConfigured();
    const id = createHash('sha256').update(`${appKey}\n${appSecret}`).digest('hex');
    let client = this.clients.get(id);
    if (!client) {
      client = new DingTalkClient({
        apiBase: this.config.dingtalk.apiBase,
        newApiBase: this.config.dingtalk.newApiBase,
        appKey,
        appSecret,
        maxRps: this.config.dingtalk.maxRps,
      });
      this.clients.set(id, client);
    }
    return client;
  }

  async read(): Promise<DingConfigDto> {
    const row = await this.row();
    const effective = await this.effective();
    const [pull, push] = await Promise.all([this.schedules.get(PULL_JOB), this.schedules.get(PUSH_JOB)]);
    return {
      app_key: effective.appKey,
      app_valid: row?.appValid ?? false,
      corp_id: effective.corpId,
      qr_app_id: effective.qrAppId,
      qr_app_valid: row?.qrAppValid ?? false,
      has_app_secret: effective.appSecret !== '',
      has_qr_app_secret: effective.qrAppSecret !== '',
      leaver_policy: effective.leaverPolicy,
      leaver_delete_days: effective.leaverDeleteDays,
      pull_cron: pull.cron,
      push_cron: push.cron,
      pull_next_run_at: pull.next_run_at,
      push_next_run_at: push.next_run_at,
    };
  }

  async update(dto: UpdateDingConfigDto): Promise<DingConfigDto> {
    for (const field of ['pull_cron', 'push_cron'] as const) {
      const value = dto[field];
      if (typeof value === 'string' && value.trim() !== '' && !isValidCron(value))
        throw SyncErrors.badCron(field);
    }
    await this.tx.run(async (manager) => {
      const repo = manager.getRepository(DingConfigEntity);
      const row = (await repo.findOne({ where: {}, order: { id: 'ASC' } })) ?? repo.create({});
      if (dto.app_key !== undefined) row.appKey = dto.app_key;
      if (dto.corp_id !== undefined) row.corpId = dto.corp_id;
      if (dto.qr_app_id !== undefined) row.qrAppId = dto.qr_app_id;
      if (dto.app_secret) row.appSecretEnc = this.box.seal(dto.app_secret);
      if (dto.qr_app_secret) row.qrAppSecretEnc = this.box.seal(dto.qr_app_secret);
      if (dto.leaver_policy !== undefined) row.leaverPolicy = dto.leaver_policy;
      if (dto.leaver_delete_days !== undefined) row.leaverDeleteDays = dto.leaver_delete_days;
      if (dto.app_key !== undefined || dto.app_secret) row.appValid = false;
      await repo.save(row);
      await this.audit.record(manager, { subject: 'config', summary: '修改钉钉配置' });
    });
    for (const [field, job] of [
      ['pull_cron', PULL_JOB],
      ['push_cron', PUSH_JOB],
    ] as const) {
      const value = dto[field];
      if (value !== undefined)
        await this.schedules.set(job, value && value.trim() !== '' ? value.trim() : null);
    }
    return this.read();
  }

  /** Remembers the outcome of a credentials check (preflight), as ArkID's `app_valid`. */
  async markAppValid(valid: boolean): Promise<void> {
    const repo = this.dataSource.getRepository(DingConfigEntity);
    const row = (await repo.findOne({ where: {}, order: { id: 'ASC' } })) ?? repo.create({});
    if (row.appValid === valid && row.id !== undefined) return;
    row.appValid = valid;
    await repo.save(row);
  }
}
