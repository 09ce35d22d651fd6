import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AuditModule } from '../audit/audit.module';
import { MembershipsRepository } from './memberships.repository';
import { OrgMembershipsService } from './memberships.service';
import { DeptController, GroupController, NodeController, NodeListsController } from './org-nodes.controller';
import { OrgNodesRepository } from './org-nodes.repository';
import { OrgVisibilityService } from './org-visibility.service';
import { OrgNodeHooks } from './org-node.hooks';
import { OrgService } from './org.service';
import { SubtreeCache } from './subtree-cache';
import { UcenterOrgController } from './ucenter-org.controller';
import { UserNodesController } from './user-nodes.controller';

@Module({
  imports: [AccountsModule, AuditModule],
  controllers: [
    NodeListsController,
    DeptController,
    GroupController,
    NodeController,
    UserNodesController,
    UcenterOrgController,
  ],
  providers: [
    OrgNodeHooks,
    SubtreeCache,
    OrgService,
    OrgMembershipsService,
    OrgVisibilityService,
    OrgNodesRepository,
    MembershipsRepository,
  ],
  exports: [OrgService, OrgMembershipsService, OrgVisibilityService, OrgNodeHooks],
})
export class OrgModule {}
