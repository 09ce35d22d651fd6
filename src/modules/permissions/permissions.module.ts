import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AuditModule } from '../audit/audit.module';
import { OrgModule } from '../org/org.module';
import { AppLifecycleHooks } from './app-lifecycle.hooks';
import { AppsController } from './apps.controller';
import { AppsRepository } from './apps.repository';
import { AppsService } from './apps.service';
import { PermChecksService } from './perm-checks.service';
import { PermissionResolver } from './permission-resolver.service';
import { PermsController, UcenterPermsController } from './perms.controller';
import { PermsRepository } from './perms.repository';
import { PermsService } from './perms.service';

@Module({
  imports: [AccountsModule, AuditModule, OrgModule],
  controllers: [PermsController, UcenterPermsController, AppsController],
  providers: [
    AppLifecycleHooks,
    PermissionResolver,
    PermsRepository,
    AppsRepository,
    PermsService,
    AppsService,
    PermChecksService,
  ],
  exports: [PermissionResolver, PermChecksService, PermsService, AppsService, AppLifecycleHooks],
})
export class PermissionsModule {}
