import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import {
  AdminOnly,
  CurrentPrincipal,
  CurrentScope,
  ManagerAccess,
} from '../../common/decorators/auth.decorators';
import type { AdminScope } from '../../common/guards/admin-scope';
import type { Principal } from '../../common/guards/principal';
import { apiPaths } from '../../common/http/api-paths';
import { NodeUidPipe, UsernamePipe } from '../../common/pipes/path-params.pipe';
import type { TaskTicketDto } from '../jobs/tasks.service';
import type { NodeRoute } from '../org/node-uid';
import { CreatePermDto, PatchOwnerPermsDto, PatchOwnersDto, UpdatePermDto } from './dto/perm-input.dto';
import { PermChecksService } from './perm-checks.service';
import { PermsService } from './perms.service';

/** Which of `perm/dept/`, `perm/group/`, `perm/node/` the request came in on. */
function nodeRouteOf(req: Request): NodeRoute {
  const match = /\/perm\/(dept|group|node)\//.exec(req.path);
  return (match?.[1] ?? 'node') as NodeRoute;
}

/**
 * `perm/…`, `user/{u}/perm/{p}/` and `meta/perm/` (contract §3.7). The owner-centred routes come first:
 * `perm/user/x` must not be read as the owners of a permission called `user`.
 */
@ApiTags('permissions')
@ApiBearerAuth('Token')
@ManagerAccess()
@Controller(apiPaths())
export class PermsController {
  constructor(private readonly perms: PermsService) {}

  @Get('meta/perm')
  @AdminOnly()
  @ApiOperation({ summary: 'The built-in system permissions' })
  meta() {
    return this.perms.metaSystemPerms();
  }

  @Get('perm/user/:username')
  @ApiOperation({
    summary:
      "A user's status and values for every permission (`subject`, `scope`, `action`, `action_except`)",
  })
  userPerms(
    @Param('username', UsernamePipe) username: string,
    @Req() req: Request,
    @Query() query: Record<string, unknown>,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.perms.userPerms(username, req, query, scope);
  }

  @Patch('perm/user/:username')
  @ApiOperation({ summary: "Set a user's statuses: `perm_statuses: [{uid, status}]`" })
  patchUserPerms(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: PatchOwnerPermsDto,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.perms.patchUserPerms(username, dto, scope);
  }

  @Get(['perm/dept/:uid', 'perm/group/:uid', 'perm/node/:uid'])
  @ApiOperation({ summary: "A node's status and value for every permission" })
  nodePerms(
    @Param('uid', NodeUidPipe) uid: string,
    @Req() req: Request,
    @Query() query: Record<string, unknown>,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.perms.nodePerms(nodeRouteOf(req), uid, req, query, scope);
  }

  @Patch(['perm/dept/:uid', 'perm/group/:uid', 'perm/node/:uid'])
  @ApiOperation({ summary: "Set a node's statuses: `perm_statuses: [{uid, status}]`" })
  patchNodePerms(
    @Param('uid', NodeUidPipe) uid: string,
    @Req() req: Request,
    @Body() dto: PatchOwnerPermsDto,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.perms.patchNodePerms(nodeRouteOf(req), uid, dto, scope);
  }

  @Get('perm')
  @ApiOperation({
    summary:
      'Permissions with their first owners (`subject`, `name`, `scope`, `action`, `action_except`, `owner_subject`)',
  })
  list(@Req() req: Request, @Query() query: Record<string, unknown>, @CurrentScope() scope: AdminScope) {
    return this.perms.list(req, query, scope);
  }

  @Post('perm')
  @ApiOperation({ summary: 'Create a custom permission of an app: uid `app_<scope>_<slug of name>`' })
  create(@Body() dto: CreatePermDto, @CurrentScope() scope: AdminScope) {
    return this.perms.create(dto, scope);
  }

  @Get('perm/:uid')
  detail(@Param('uid', NodeUidPipe) uid: string, @CurrentScope() scope: AdminScope) {
    return this.perms.detail(uid, scope);
  }

  @Patch('perm/:uid')
  update(
    @Param('uid', NodeUidPipe) uid: string,
    @Body() dto: UpdatePermDto,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.perms.update(uid, dto, scope);
  }

  @Put('perm/:uid')
  replace(
    @Param('uid', NodeUidPipe) uid: string,
    @Body() dto: UpdatePermDto,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.perms.update(uid, dto, scope);
  }

  @Delete('perm/:uid')
  @HttpCode(204)
  async remove(@Param('uid', NodeUidPipe) uid: string, @CurrentScope() scope: AdminScope): Promise<void> {
    await this.perms.remove(uid, scope);
  }

  @Get('perm/:uid/owner')
  @ApiOperation({
    summary:
      'Owners of a permission: assigned ones, or with `status` those with that status, or with `value` the final ' +
      'holders (each with its source); `owner_subject` = all|user|dept|<group category>',
  })
  owners(
    @Param('uid', NodeUidPipe) uid: string,
    @Req() req: Request,
    @Query() query: Record<string, unknown>,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.perms.owners(uid, req, query, scope);
  }

  @Patch('perm/:uid/owner')
  @ApiOperation({ summary: 'Assign: `clean`, `user_perm_status`, `node_perm_status` (one transaction)' })
  patchOwners(
    @Param('uid', NodeUidPipe) uid: string,
    @Body() dto: PatchOwnersDto,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.perms.patchOwners(uid, dto, scope);
  }

  @Put('user/:username/perm')
  @AdminOnly()
  @ApiOperation({
    summary:
      "Queue a recompute of one user's permissions: a TaskTicket, whose result lists what the user holds",
  })
  userPermsRecompute(
    @Param('username', UsernamePipe) username: string,
    @CurrentScope() scope: AdminScope,
  ): Promise<TaskTicketDto> {
    return this.perms.queueRecompute(username, scope);
  }

  @Get('user/:username/perm/:permUid')
  @ApiOperation({ summary: "A user's decision for one permission, with what decided it (`source`)" })
  userPermDetail(
    @Param('username', UsernamePipe) username: string,
    @Param('permUid', NodeUidPipe) permUid: string,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.perms.userPermDetail(username, permUid, scope);
  }

  @Put('user/:username/perm/:permUid')
  @ApiOperation({ summary: 'Same as GET: decisions are always current, there is nothing to recompute' })
  userPermRecompute(
    @Param('username', UsernamePipe) username: string,
    @Param('permUid', NodeUidPipe) permUid: string,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.perms.userPermDetail(username, permUid, scope);
  }

  @Get('user/:username/perm/:permUid/result')
  userPermResult(
    @Param('username', UsernamePipe) username: string,
    @Param('permUid', NodeUidPipe) permUid: string,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.perms.userPermResult(username, permUid, scope);
  }
}

/** The signed-in user's own view: its workbench and its permissions. */
@ApiTags('permissions')
@ApiBearerAuth('Token')
@Controller(apiPaths('ucenter'))
export class UcenterPermsController {
  constructor(private readonly checks: PermChecksService) {}

  @Get('apps')
  @ApiOperation({ summary: 'The apps the caller may open, newest first (`name`)' })
  apps(
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Query() query: Record<string, unknown>,
  ) {
    return this.checks.workbench(principal, req, query);
  }

  @Get('perm')
  @ApiOperation({ summary: "The caller's permissions whose value is true" })
  perms(
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Query() query: Record<string, unknown>,
  ) {
    return this.checks.ownPerms(principal, req, query);
  }
}
