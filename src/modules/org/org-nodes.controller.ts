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
import { AdminOnly } from '../../common/decorators/auth.decorators';
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
  @AdminOnly()
  @Controller(apiPaths(route))
  class NodeRoutesController {
    constructor(
      readonly org: OrgService,
      readonly memberships: OrgMembershipsService,
    ) {}

    @Get(':uid')
    @ApiOperation({ summary: `Detail of a ${route}` })
    detail(@Param('uid', NodeUidPipe) uid: string) {
      return this.org.detail(route, uid);
    }

    @Patch(':uid')
    update(@Param('uid', NodeUidPipe) uid: string, @Body() dto: UpdateNodeDto) {
      return this.org.update(route, uid, dto);
    }

    @Put(':uid')
    replace(@Param('uid', NodeUidPipe) uid: string, @Body() dto: UpdateNodeDto) {
      return this.org.update(route, uid, dto);
    }

    @Delete(':uid')
    @HttpCode(204)
    @ApiOperation({ summary: 'Delete an empty node (`ignore_user=true` removes its members first)' })
    async remove(@Param('uid', NodeUidPipe) uid: string, @Query() query: Record<string, unknown>) {
      await this.org.remove(route, uid, queryBool(query, 'ignore_user'));
    }

    @Get(':uid/list')
    @ApiOperation({ summary: 'The subtree in pre-order, starting with the node' })
    list(@Param('uid', NodeUidPipe) uid: string) {
      return this.org.subtreeList(route, uid);
    }

    @Get(':uid/tree')
    @ApiOperation({ summary: 'The subtree as a tree; `user_required=true` adds members and head counts' })
    tree(@Param('uid', NodeUidPipe) uid: string, @Query() query: Record<string, unknown>) {
      return this.org.tree(route, uid, queryBool(query, 'user_required'));
    }

    @Get(`:uid/${route}`)
    @ApiOperation({ summary: 'Direct children in their order' })
    children(@Param('uid', NodeUidPipe) uid: string) {
      return this.org.children(route, uid);
    }

    @Post(`:uid/${route}`)
    @ApiOperation({ summary: 'Create a child, placed last' })
    createChild(@Param('uid', NodeUidPipe) uid: string, @Body() dto: CreateNodeDto) {
      return this.org.createChild(route, uid, dto);
    }

    @Patch(`:uid/${route}`)
    @ApiOperation({ summary: '`subject=sort` reorders children; `subject=add` moves nodes under this one' })
    patchChildren(@Param('uid', NodeUidPipe) uid: string, @Body() dto: PatchChildrenDto) {
      return this.org.patchChildren(route, uid, dto);
    }

    @Get(':uid/user')
    @ApiOperation({ summary: 'Members (departments in member order; groups by id, with filters)' })
    members(
      @Param('uid', NodeUidPipe) uid: string,
      @Req() req: Request,
      @Query() query: Record<string, unknown>,
    ) {
      return this.memberships.members(route, uid, req, query);
    }

    @Patch(':uid/user')
    @ApiOperation({ summary: 'Change members: add, delete, sort, override, move_out' })
    patchMembers(@Param('uid', NodeUidPipe) uid: string, @Body() dto: PatchMembersDto) {
      return this.memberships.patchMembers(route, uid, dto);
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
@AdminOnly()
@Controller(apiPaths())
export class NodeListsController {
  constructor(private readonly org: OrgService) {}

  @Get('dept')
  @ApiOperation({ summary: 'Departments by id (`name` filters, substring)' })
  depts(@Req() req: Request, @Query() query: Record<string, unknown>) {
    return this.org.listOfKind('dept', req, query);
  }

  @Get('group')
  @ApiOperation({ summary: 'Groups by id (`name` filters, substring)' })
  groups(@Req() req: Request, @Query() query: Record<string, unknown>) {
    return this.org.listOfKind('group', req, query);
  }
}
