import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { JobsModule } from '../jobs/jobs.module';
import { OrgModule } from '../org/org.module';
import { SettingsModule } from '../settings/settings.module';
import { DingAnswerFields } from './ding-answer-fields';
import { DingConfigService, PULL_JOB, PUSH_JOB } from './ding-config.service';
import { DingMappingRepository } from './ding-mapping.repository';
import { DingRequestLimits } from './ding-request-limits';
import { DingPullService } from './ding-pull.service';
import { DingPushService } from './ding-push.service';
import { DingPullProcessor, DingPushProcessor } from './ding-sync.processors';
import { DingSyncService } from './ding-sync.service';
import { SyncController } from './sync.controller';

const LEASE = { lockKey: 'dingtalk-directory' };

@Module({
  imports: [
    AccountsModule,
    AuditModule,
    AuthModule,
    OrgModule,
    SettingsModule,
    // Pull and push share one lock: they never run at the same time, on any worker.
    JobsModule.forFeature([
      { name: PULL_JOB, attempts: 4, backoffMs: 10000, ...LEASE },
      { name: PUSH_JOB, attempts: 3, backoffMs: 10000, ...LEASE },
    ]),
  ],
  controllers: [SyncController],
  providers: [
    DingConfigService,
    DingMappingRepository,
    DingAnswerFields,
    DingRequestLimits,
    DingPullService,
    DingPushService,
    DingSyncService,
    DingPullProcessor,
    DingPushProcessor,
  ],
  exports: [DingSyncService],
})
export class SyncModule {}
