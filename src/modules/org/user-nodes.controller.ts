import { Body, Controller, Get, Param, Patch } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../../common/decorators/auth.decorators';
import { apiPaths } from '../../common/http/api-paths';
import { UsernamePipe } from '../../common/pipes/path-params.pipe';
import { PatchUserNodesDto } from './dto/node-input.dto';
import { OrgMembershipsService } from './memberships.service';

/** `user/{username}/dept|group|node/`: read and change one user's memberships. */
@ApiTags('organization')
@ApiBearerAuth('Token')
@AdminOnly()
@Controller(apiPaths('user'))
export class UserNodesController {
  constructor(private readonly members: OrgMembershipsService) {}

  @Get(':username/dept')
  @ApiOperation({ summary: "The user's departments" })
  depts(@Param('username', UsernamePipe) username: string) {
    return this.members.userNodes('dept', username);
  }

  @Patch(':username/dept')
  patchDepts(@Param('username', UsernamePipe) username: string, @Body() dto: PatchUserNodesDto) {
    return this.members.patchUserNodes('dept', username, dto);
  }

  @Get(':username/group')
  @ApiOperation({ summary: "The user's groups" })
  groups(@Param('username', UsernamePipe) username: string) {
    return this.members.userNodes('group', username);
  }

  @Patch(':username/group')
  patchGroups(@Param('username', UsernamePipe) username: string, @Body() dto: PatchUserNodesDto) {
    return this.members.patchUserNodes('group', username, dto);
  }

  @Get(':username/node')
  @ApiOperation({ summary: "The user's departments and groups" })
  nodes(@Param('username', UsernamePipe) username: string) {
    return this.members.userNodes('node', username);
  }

  @Patch(':username/node')
  patchNodes(@Param('username', UsernamePipe) username: string, @Body() dto: PatchUserNodesDto) {
    return this.members.patchUserNodes('node', username, dto);
  }
}
