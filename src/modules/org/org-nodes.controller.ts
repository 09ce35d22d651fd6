import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  type Type,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import {
  CurrentActor,
  CurrentScope,
  ManagerAccess,
  ManagerOrPower,
} from '../../common/decorators/auth.decorators';
import type { AdminActor, AdminScope } from '../../common/guards/admin-scope';
import { apiPaths } from '../../common/http/api-paths';
import { queryBool } from '../../common/http/query-params';
import { NodeUidPipe } from '../../common/pipes/path-params.pipe';
import { CreateNodeDto, PatchChildrenDto, PatchMembersDto, UpdateNodeDto } from './dto/node-input.dto';
import { OrgMembershipsService } from './memberships.service';
import type { NodeRoute } from './node-uid';
import { OrgService } from './org.service';

/**
 * `dept/{uid}/…`, `group/{uid}/…` and `node/{node_uid}/…` (contract §3.5) answer the same operations;
 * only the uid form and the children's collection name differ, so one definition serves all three.
 */
function nodeRoutesController(route: NodeRoute): Type<unknown> {
  @ApiTags('organization')
  @ApiBearerAuth('Token')
  @ManagerAccess()
  @Controller(apiPaths(route))
  class NodeRoutesController {
    constructor(
      readonly org: OrgService,
      readonly memberships: OrgMembershipsService,
    ) {}

    @Get(':uid')
    @ApiOperation({ summary: `Detail of a ${route}` })
    detail(@Param('uid', NodeUidPipe) uid: string, @CurrentScope() scope: AdminScope) {
      return this.org.detail(route, uid, scope);
    }

    @Patch(':uid')
    update(
      @Param('uid', NodeUidPipe) uid: string,
      @Body() dto: UpdateNodeDto,
      @CurrentScope() scope: AdminScope,
    ) {
      return this.org.update(route, uid, dto, scope);
    }

    @Put(':uid')
    replace(
      @Param('uid', NodeUidPipe) uid: string,
      @Body() dto: UpdateNodeDto,
      @CurrentScope() scope: AdminScope,
    ) {
      return this.org.update(route, uid, dto, scope);
    }

    @Delete(':uid')
    @HttpCode(204)
    @ApiOperation({ summary: 'Delete an empty node (`ignore_user=true` removes its members first)' })
    async remove(
      @Param('uid', NodeUidPipe) uid: string,
      @Query() query: Record<string, unknown>,
      @CurrentScope() scope: AdminScope,
    ) {
      await this.org.remove(route, uid, queryBool(query, 'ignore_user'), scope);
    }

    @Get(':uid/list')
    @ApiOperation({ summary: 'The subtree in pre-order, starting with the node' })
    list(@Param('uid', NodeUidPipe) uid: string, @CurrentScope() scope: AdminScope) {
      return this.org.subtreeList(route, uid, scope);
    }

    @Get(':uid/tree')
    @ApiOperation({ summary: 'The subtree as a tree; `user_required=true` adds members and head counts' })
    tree(
      @Param('uid', NodeUidPipe) uid: string,
      @Query() query: Record<string, unknown>,
      @CurrentScope() scope: AdminScope,
    ) {
      return this.org.tree(route, uid, queryBool(query, 'user_required'), scope);
    }

    @Get(`:uid/${route}`)
    @ApiOperation({ summary: 'Direct children in their order' })
    children(@Param('uid', NodeUidPipe) uid: string, @CurrentScope() scope: AdminScope) {
      return this.org.children(route, uid, scope);
    }

    @Post(`:uid/${route}`)
    @ManagerOrPower('system_category_create')
    @ApiOperation({ summary: 'Create a child, placed last (a category needs the category power)' })
    createChild(
      @Param('uid', NodeUidPipe) uid: string,
      @Body() dto: CreateNodeDto,
      @CurrentActor() actor: AdminActor,
    ) {
      return this.org.createChild(route, uid, dto, actor);
    }

    @Patch(`:uid/${route}`)
    @ApiOperation({ summary: '`subject=sort` reorders children; `subject=add` moves nodes under this one' })
    patchChildren(
      @Param('uid', NodeUidPipe) uid: string,
      @Body() dto: PatchChildrenDto,
      @CurrentScope() scope: AdminScope,
    ) {
      return this.org.patchChildren(route, uid, dto, scope);
    }

    @Get(':uid/user')
    @ApiOperation({ summary: 'Members (departments in member order; groups by id, with filters)' })
    members(
      @Param('uid', NodeUidPipe) uid: string,
      @Req() req: Request,
      @Query() query: Record<string, unknown>,
      @CurrentScope() scope: AdminScope,
    ) {
      return this.memberships.members(route, uid, req, query, scope);
    }

    @Patch(':uid/user')
    @ApiOperation({ summary: 'Change members: add, delete, sort, override, move_out' })
    patchMembers(
      @Param('uid', NodeUidPipe) uid: string,
      @Body() dto: PatchMembersDto,
      @CurrentScope() scope: AdminScope,
    ) {
      return this.memberships.patchMembers(route, uid, dto, scope);
    }
  }
  const name = `${route[0].toUpperCase()}${route.slice(1)}Controller`;
  Object.defineProperty(NodeRoutesController, 'name', { value: name });
  return NodeRoutesController;
}

export const DeptController = nodeRoutesController('dept');
export const GroupController = nodeRoutesController('group');
export const NodeController = nodeRoutesController('node');

/** `dept/` and `group/`: every node of the kind except its root. */
@ApiTags('organization')
@ApiBearerAuth('Token')
@ManagerAccess()
@Controller(apiPaths())
export class NodeListsController {
  constructor(private readonly org: OrgService) {}

  @Get('dept')
  @ApiOperation({ summary: 'Departments by id (`name` filters, substring)' })
  depts(@Req() req: Request, @Query() query: Record<string, unknown>, @CurrentScope() scope: AdminScope) {
    return this.org.listOfKind('dept', req, query, scope);
  }

  @Get('group')
  @ApiOperation({ summary: 'Groups by id (`name` filters, substring)' })
  groups(@Req() req: Request, @Query() query: Record<string, unknown>, @CurrentScope() scope: AdminScope) {
    return this.org.listOfKind('group', req, query, scope);
  }
}
