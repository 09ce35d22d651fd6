import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { JobsModule } from '../jobs/jobs.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { OrgModule } from '../org/org.module';
import { SettingsModule } from '../settings/settings.module';
import { CaptchaService } from './captcha.service';
import { InvitationsService } from './invitations.service';
import { PurgeExpiredProcessor } from './jobs/purge-expired.processor';
import { LifecycleController } from './lifecycle.controller';
import { CaptchasRepository, InvitationsRepository, VerificationsRepository } from './lifecycle.repositories';
import { LifecyclePurgeService, PURGE_EXPIRED_JOB } from './lifecycle-purge.service';
import { LifecycleService } from './lifecycle.service';
import { ServiceCodesController } from './service-codes.controller';
import { VerificationService } from './verification.service';

@Module({
  imports: [
    AccountsModule,
    AuditModule,
    AuthModule,
    NotificationsModule,
    OrgModule,
    SettingsModule,
    JobsModule.forFeature([
      { name: PURGE_EXPIRED_JOB, attempts: 3, backoffMs: 60_000, lockKey: PURGE_EXPIRED_JOB },
    ]),
  ],
  controllers: [ServiceCodesController, LifecycleController],
  providers: [
    LifecycleService,
    VerificationService,
    InvitationsService,
    CaptchaService,
    VerificationsRepository,
    InvitationsRepository,
    CaptchasRepository,
    LifecyclePurgeService,
    PurgeExpiredProcessor,
  ],
  // The hosted pages (web room) run these flows through the same services.
  exports: [LifecycleService, VerificationService, CaptchaService],
})
export class LifecycleModule {}
