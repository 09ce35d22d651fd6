import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { OrgModule } from '../org/org.module';
import { PermissionsModule } from '../permissions/permissions.module';
import { AdminScopeResolver } from './admin-scope.resolver';
import { ManagerGroupsRepository } from './manager-groups.repository';
import { ManagerGroupsService } from './manager-groups.service';

/** Sub-admin groups and the per-request scope every admin endpoint works within (contract §3.6, §4.2). */
@Module({
  imports: [AccountsModule, OrgModule, PermissionsModule],
  providers: [AdminScopeResolver, ManagerGroupsRepository, ManagerGroupsService],
})
export class AdminScopeModule {}
