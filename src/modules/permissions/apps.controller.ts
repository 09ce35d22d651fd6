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
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  AdminOnly,
  CurrentActor,
  CurrentScope,
  ManagerAccess,
  RequirePower,
} from '../../common/decorators/auth.decorators';
import type { AdminActor, AdminScope } from '../../common/guards/admin-scope';
import { apiPaths } from '../../common/http/api-paths';
import { NodeUidPipe } from '../../common/pipes/path-params.pipe';
import { AppsService } from './apps.service';
import { CreateAppDto, RegisterOAuthDto, UpdateAppDto } from './dto/app-input.dto';

/** `app/…` (contract §3.8): sub-admins work on the apps their groups manage. */
@ApiTags('apps')
@ApiBearerAuth('Token')
@ManagerAccess()
@Controller(apiPaths('app'))
export class AppsController {
  constructor(private readonly apps: AppsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Apps with their access permission, newest first (`name`, `user_uid`|`node_uid`, `owner_access`)',
  })
  list(@Req() req: Request, @Query() query: Record<string, unknown>, @CurrentScope() scope: AdminScope) {
    return this.apps.list(req, query, scope);
  }

  @Post()
  @RequirePower('system_app_create')
  @ApiOperation({ summary: 'Create an app, its access permission `app_<uid>_access` and its creator group' })
  create(@Body() dto: CreateAppDto, @CurrentActor() actor: AdminActor) {
    return this.apps.create(dto, actor);
  }

  @Get(':uid')
  detail(@Param('uid', NodeUidPipe) uid: string, @CurrentScope() scope: AdminScope) {
    return this.apps.detail(uid, scope);
  }

  @Patch(':uid')
  @ApiOperation({ summary: 'Change an app; a protocol set to null is removed' })
  update(
    @Param('uid', NodeUidPipe) uid: string,
    @Body() dto: UpdateAppDto,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.apps.update(uid, dto, scope);
  }

  @Put(':uid')
  replace(
    @Param('uid', NodeUidPipe) uid: string,
    @Body() dto: UpdateAppDto,
    @CurrentScope() scope: AdminScope,
  ) {
    return this.apps.update(uid, dto, scope);
  }

  @Delete(':uid')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete the app, its clients, its permissions and their assignments' })
  async remove(@Param('uid', NodeUidPipe) uid: string, @CurrentScope() scope: AdminScope): Promise<void> {
    await this.apps.remove(uid, scope);
  }

  @Post([':uid/oauth/secret', ':uid/oidc/secret'])
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Issue a new client_secret for the app's OAuth (or OIDC) client, shown once; the old one stops working",
  })
  rotateSecret(
    @Param('uid', NodeUidPipe) uid: string,
    @Req() req: Request,
    @CurrentScope() scope: AdminScope,
  ): Promise<object> {
    return this.apps.rotateClientSecret(uid, req.path.includes('/oidc/') ? 'oidc' : 'oauth', scope);
  }

  @Post(':uid/oauth')
  @AdminOnly()
  @ApiOperation({ summary: 'Register the app as an OAuth client (201 when the app is created too)' })
  async registerOAuth(
    @Param('uid', NodeUidPipe) uid: string,
    @Body() dto: RegisterOAuthDto,
    @Res({ passthrough: true }) res: Response,
    @CurrentActor() actor: AdminActor,
  ): Promise<object> {
    const { created, body } = await this.apps.registerOAuth(uid, dto, actor);
    res.status(created ? 201 : 200);
    return body;
  }
}
