import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AuditModule } from '../audit/audit.module';
import { OrgModule } from '../org/org.module';
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
    PermissionResolver,
    PermsRepository,
    AppsRepository,
    PermsService,
    AppsService,
    PermChecksService,
  ],
  exports: [PermissionResolver, PermChecksService],
})
export class PermissionsModule {}
