import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../../common/decorators/auth.decorators';
import type { Principal } from '../../common/guards/principal';
import { apiPaths } from '../../common/http/api-paths';
import { queryBool } from '../../common/http/query-params';
import { NodeUidPipe, UsernamePipe } from '../../common/pipes/path-params.pipe';
import { OrgVisibilityService } from './org-visibility.service';
import { OrgService } from './org.service';

/** The organization as a signed-in employee may see it. */
@ApiTags('organization')
@ApiBearerAuth('Token')
@Controller(apiPaths())
export class UcenterOrgController {
  constructor(
    private readonly visibility: OrgVisibilityService,
    private readonly org: OrgService,
  ) {}

  @Get('ucenter/node/:nodeUid')
  @ApiOperation({ summary: 'A node open to the caller (404 otherwise)' })
  node(@Param('nodeUid', NodeUidPipe) nodeUid: string, @CurrentPrincipal() principal: Principal) {
    return this.visibility.node(principal, nodeUid);
  }

  @Get('ucenter/node/:nodeUid/tree')
  @ApiOperation({ summary: 'The subtree pruned to what the caller may see' })
  tree(
    @Param('nodeUid', NodeUidPipe) nodeUid: string,
    @Query() query: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.visibility.tree(principal, nodeUid, queryBool(query, 'user_required'));
  }

  @Get('ucenter/user/:username')
  @ApiOperation({ summary: 'A colleague visible to the caller (404 otherwise)' })
  user(@Param('username', UsernamePipe) username: string, @CurrentPrincipal() principal: Principal) {
    return this.visibility.user(principal, username);
  }

  @Get('meta/node')
  @ApiOperation({ summary: 'The group categories: built-in defaults and custom ones' })
  categories() {
    return this.org.categories();
  }
}
