import { Body, Controller, Get, Param, Patch } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentScope, ManagerAccess } from '../../common/decorators/auth.decorators';
import type { AdminScope } from '../../common/guards/admin-scope';
import { apiPaths } from '../../common/http/api-paths';
import { UsernamePipe } from '../../common/pipes/path-params.pipe';
import { PatchUserNodesDto } from './dto/node-input.dto';
import { OrgMembershipsService } from './memberships.service';

/** `user/{username}/dept|group|node/`: read and change one user's memberships, within the caller's scope. */
@ApiTags('organization')
@ApiBearerAuth('Token')
@ManagerAccess()
@Controller(apiPaths('user'))
export class UserNodesController {
  constructor(private readonly members: OrgMembershipsService) {}

  @Get(':username/dept')
  @ApiOperation({ summary: "The user's departments" })
  depts(@Param('username', UsernamePipe) username: string, @CurrentScope() scope: AdminScope) {
    return this.members.userNodes('dept', username, scope);
  }

  @Patch(':username/dept')
  patchDepts(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: PatchUserNodesDto,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.members.patchUserNodes('dept', username, dto, scope);
  }

  @Get(':username/group')
  @ApiOperation({ summary: "The user's groups" })
  groups(@Param('username', UsernamePipe) username: string, @CurrentScope() scope: AdminScope) {
    return this.members.userNodes('group', username, scope);
  }

  @Patch(':username/group')
  patchGroups(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: PatchUserNodesDto,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.members.patchUserNodes('group', username, dto, scope);
  }

  @Get(':username/node')
  @ApiOperation({ summary: "The user's departments and groups" })
  nodes(@Param('username', UsernamePipe) username: string, @CurrentScope() scope: AdminScope) {
    return this.members.userNodes('node', username, scope);
  }

  @Patch(':username/node')
  patchNodes(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: PatchUserNodesDto,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.members.patchUserNodes('node', username, dto, scope);
  }
}
