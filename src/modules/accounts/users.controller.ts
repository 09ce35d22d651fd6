import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import {
  CurrentActor,
  CurrentScope,
  ManagerAccess,
  RequirePower,
} from '../../common/decorators/auth.decorators';
import type { AdminActor, AdminScope } from '../../common/guards/admin-scope';
import { apiPaths } from '../../common/http/api-paths';
import { UsernamePipe } from '../../common/pipes/path-params.pipe';
import { CreateUserDto, SetPasswordDto, UpdateUserDto } from './dto/user-input.dto';
import { EmployeeResponseDto, UserPageDto, UserResponseDto } from './dto/user-response.dto';
import { UsersService } from './users.service';

/** Superusers see every user; sub-admins only the users they manage (others read as not found). */
@ApiTags('users')
@ApiBearerAuth('Token')
@ManagerAccess()
@Controller(apiPaths('user'))
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'List employees (admins excluded) with filters and pagination' })
  @ApiOkResponse({ type: UserPageDto })
  list(@Req() req: Request, @Query() query: Record<string, unknown>, @CurrentScope() scope: AdminScope) {
    return this.users.list(req, query, scope);
  }

  @Post()
  @RequirePower('system_user_create')
  @ApiOperation({ summary: 'Create a user (sub-admins: only into nodes they manage)' })
  create(@Body() dto: CreateUserDto, @CurrentActor() actor: AdminActor): Promise<EmployeeResponseDto> {
    return this.users.create(dto, actor);
  }

  @Get('isolated')
  @ApiOperation({ summary: 'Users in no department and no group' })
  @ApiOkResponse({ type: UserPageDto })
  listIsolated(
    @Req() req: Request,
    @Query() query: Record<string, unknown>,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.users.listIsolated(req, query, scope);
  }

  @Get(':username')
  get(
    @Param('username', UsernamePipe) username: string,
    @CurrentScope() scope: AdminScope,
  ): Promise<EmployeeResponseDto> {
    return this.users.getEmployee(username, scope);
  }

  @Patch(':username')
  @ApiOkResponse({ type: UserResponseDto })
  update(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: UpdateUserDto,
    @CurrentActor() actor: AdminActor,
  ): Promise<UserResponseDto> {
    return this.users.update(username, dto, actor);
  }

  @Put(':username')
  @ApiOkResponse({ type: UserResponseDto })
  replace(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: UpdateUserDto,
    @CurrentActor() actor: AdminActor,
  ): Promise<UserResponseDto> {
    return this.users.update(username, dto, actor);
  }

  @Delete(':username')
  @HttpCode(204)
  async remove(
    @Param('username', UsernamePipe) username: string,
    @CurrentActor() actor: AdminActor,
  ): Promise<void> {
    await this.users.remove(username, actor);
  }

  @Patch(':username/password')
  @ApiOperation({ summary: "Set a user's password (ends all of its sessions)" })
  async setPassword(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: SetPasswordDto,
    @CurrentScope() scope: AdminScope,
  ): Promise<object> {
    await this.users.setPassword(username, dto, scope);
    return {};
  }
}
