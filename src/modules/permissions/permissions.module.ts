import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AuditModule } from '../audit/audit.module';
import { JobsModule } from '../jobs/jobs.module';
import { OrgModule } from '../org/org.module';
import { AppLifecycleHooks } from './app-lifecycle.hooks';
import { AppsController } from './apps.controller';
import { AppsRepository } from './apps.repository';
import { AppsService } from './apps.service';
import { PermChecksService } from './perm-checks.service';
import { PermissionResolver } from './permission-resolver.service';
import { PermsController, UcenterPermsController } from './perms.controller';
import { PermsRepository } from './perms.repository';
import { PermsService, RECOMPUTE_USER_PERMS_JOB } from './perms.service';
import { RecomputeUserPermsProcessor } from './jobs/recompute-user-perms.processor';

@Module({
  imports: [
    AccountsModule,
    AuditModule,
    OrgModule,
    JobsModule.forFeature([
      // Decisions are read live; a failed recompute is asked for again, not retried.
      { name: RECOMPUTE_USER_PERMS_JOB, attempts: 1, backoffMs: 0, lockKey: RECOMPUTE_USER_PERMS_JOB },
    ]),
  ],
  controllers: [PermsController, UcenterPermsController, AppsController],
  providers: [
    AppLifecycleHooks,
    PermissionResolver,
    PermsRepository,
    AppsRepository,
    PermsService,
    AppsService,
    PermChecksService,
    RecomputeUserPermsProcessor,
  ],
  exports: [PermissionResolver, PermChecksService, PermsService, AppsService, AppLifecycleHooks],
})
export class PermissionsModule {}
