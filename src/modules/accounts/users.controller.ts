import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AdminOnly, CurrentPrincipal } from '../../common/decorators/auth.decorators';
import type { Principal } from '../../common/guards/principal';
import { apiPaths } from '../../common/http/api-paths';
import { UsernamePipe } from '../../common/pipes/path-params.pipe';
import { CreateUserDto, SetPasswordDto, UpdateUserDto } from './dto/user-input.dto';
import { EmployeeResponseDto, UserPageDto, UserResponseDto } from './dto/user-response.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth('Token')
@AdminOnly()
@Controller(apiPaths('user'))
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'List employees (admins excluded) with filters and pagination' })
  @ApiOkResponse({ type: UserPageDto })
  list(@Req() req: Request, @Query() query: Record<string, unknown>) {
    return this.users.list(req, query);
  }

  @Post()
  @ApiOperation({ summary: 'Create a user' })
  create(@Body() dto: CreateUserDto): Promise<EmployeeResponseDto> {
    return this.users.create(dto);
  }

  @Get('isolated')
  @ApiOperation({ summary: 'Users in no department and no group' })
  @ApiOkResponse({ type: UserPageDto })
  listIsolated(@Req() req: Request, @Query() query: Record<string, unknown>) {
    return this.users.listIsolated(req, query);
  }

  @Get(':username')
  get(@Param('username', UsernamePipe) username: string): Promise<EmployeeResponseDto> {
    return this.users.getEmployee(username);
  }

  @Patch(':username')
  @ApiOkResponse({ type: UserResponseDto })
  update(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: UpdateUserDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<UserResponseDto> {
    return this.users.update(username, dto, principal.userId);
  }

  @Put(':username')
  @ApiOkResponse({ type: UserResponseDto })
  replace(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: UpdateUserDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<UserResponseDto> {
    return this.users.update(username, dto, principal.userId);
  }

  @Delete(':username')
  @HttpCode(204)
  async remove(
    @Param('username', UsernamePipe) username: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.users.remove(username, principal.userId);
  }

  @Patch(':username/password')
  @ApiOperation({ summary: "Set a user's password (ends all of its sessions)" })
  async setPassword(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: SetPasswordDto,
  ): Promise<object> {
    await this.users.setPassword(username, dto);
    return {};
  }
}
