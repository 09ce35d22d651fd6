import { createHash } from 'node:crypto';
import { Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { isValidCron } from '../../common/time/cron';
import { AppConfig } from '../../config/app-config';
import { AuditService } from '../audit/audit.service';
import { SchedulesService } from '../jobs/schedules.service';
import { SettingsService } from '../settings/settings.service';
import type { DingCredentialKind } from '../settings/site-config';
import { DingRequestLimits } from './ding-request-limits';
import { credentialsAccepted, DingTalkClient } from './dingtalk/dingtalk.client';
import type { DingSyncSettingsDto, UpdateDingSyncSettingsDto } from './dto/ding-sync-settings.dto';
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
 * What the sync works with: the DingTalk credentials from the site configuration (`config/`
 * ding_config, written and sealed by the settings room, DINGTALK_* defaults), and the sync's own
 * settings (`sync/ding/config/`: leaver policy and the pull/push schedules).
 */
@Injectable()
export class DingConfigService implements OnModuleInit, OnApplicationBootstrap {
  private readonly clients = new Map<string, DingTalkClient>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly settings: SettingsService,
    private readonly schedules: SchedulesService,
    private readonly limits: DingRequestLimits,
    private readonly tx: TransactionRunner,
    private readonly audit: AuditService,
  ) {}

  /** Saving `ding_config` tests each credential pair with DingTalk; this room knows how. */
  onModuleInit(): void {
    this.settings.checkDingCredentialsWith((kind, id, secret) => this.credentialsAccepted(kind, id, secret));
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

  private async credentialsAccepted(kind: DingCredentialKind, id: string, secret: string): Promise<boolean> {
    // The internal app's check is one of its requests, inside its window.
    if (kind === 'app') await this.limits.forApp(id).acquire();
    return credentialsAccepted(this.config.dingtalk.apiBase, kind, id, secret);
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
    const [row, ding] = await Promise.all([this.row(), this.settings.ding()]);
    const env = this.config.dingtalk;
    return {
      appKey: ding.app_key,
      appSecret: ding.app_secret,
      corpId: ding.corp_id,
      qrAppId: ding.qr_app_id,
      qrAppSecret: ding.qr_app_secret,
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

  /** The client for the configured app; one per app key and secret, so its token cache is shared. */
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
        limiter: this.limits.forApp(appKey),
      });
      this.clients.set(id, client);
    }
    return client;
  }

  async read(): Promise<DingSyncSettingsDto> {
    const effective = await this.effective();
    const [pull, push] = await Promise.all([this.schedules.get(PULL_JOB), this.schedules.get(PUSH_JOB)]);
    return {
      app_configured: effective.appKey !== '' && effective.appSecret !== '',
      leaver_policy: effective.leaverPolicy,
      leaver_delete_days: effective.leaverDeleteDays,
      pull_cron: pull.cron,
      push_cron: push.cron,
      pull_next_run_at: pull.next_run_at,
      push_next_run_at: push.next_run_at,
    };
  }

  async update(dto: UpdateDingSyncSettingsDto): Promise<DingSyncSettingsDto> {
    for (const field of ['pull_cron', 'push_cron'] as const) {
      const value = dto[field];
      if (typeof value === 'string' && value.trim() !== '' && !isValidCron(value))
        throw SyncErrors.badCron(field);
    }
    if (dto.leaver_policy !== undefined || dto.leaver_delete_days !== undefined) {
      await this.tx.run(async (manager) => {
        const repo = manager.getRepository(DingConfigEntity);
        const row = (await repo.findOne({ where: {}, order: { id: 'ASC' } })) ?? repo.create({});
        if (dto.leaver_policy !== undefined) row.leaverPolicy = dto.leaver_policy;
        if (dto.leaver_delete_days !== undefined) row.leaverDeleteDays = dto.leaver_delete_days;
        await repo.save(row);
        await this.audit.record(manager, { subject: 'config', summary: '修改钉钉同步设置' });
      });
    }
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
}
