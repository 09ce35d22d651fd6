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
import { AdminOnly } from '../../common/decorators/auth.decorators';
import { apiPaths } from '../../common/http/api-paths';
import { NodeUidPipe } from '../../common/pipes/path-params.pipe';
import { AppsService } from './apps.service';
import { CreateAppDto, RegisterOAuthDto, UpdateAppDto } from './dto/app-input.dto';

/** `app/…` (contract §3.8). */
@ApiTags('apps')
@ApiBearerAuth('Token')
@AdminOnly()
@Controller(apiPaths('app'))
export class AppsController {
  constructor(private readonly apps: AppsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Apps with their access permission, newest first (`name`, `user_uid`|`node_uid`, `owner_access`)',
  })
  list(@Req() req: Request, @Query() query: Record<string, unknown>) {
    return this.apps.list(req, query);
  }

  @Post()
  @ApiOperation({ summary: 'Create an app and its access permission `app_<uid>_access`' })
  create(@Body() dto: CreateAppDto) {
    return this.apps.create(dto);
  }

  @Get(':uid')
  detail(@Param('uid', NodeUidPipe) uid: string) {
    return this.apps.detail(uid);
  }

  @Patch(':uid')
  @ApiOperation({ summary: 'Change an app; a protocol set to null is removed' })
  update(@Param('uid', NodeUidPipe) uid: string, @Body() dto: UpdateAppDto) {
    return this.apps.update(uid, dto);
  }

  @Put(':uid')
  replace(@Param('uid', NodeUidPipe) uid: string, @Body() dto: UpdateAppDto) {
    return this.apps.update(uid, dto);
  }

  @Delete(':uid')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete the app, its clients, its permissions and their assignments' })
  async remove(@Param('uid', NodeUidPipe) uid: string): Promise<void> {
    await this.apps.remove(uid);
  }

  @Post(':uid/oauth')
  @ApiOperation({ summary: 'Register the app as an OAuth client (201 when the app is created too)' })
  async registerOAuth(
    @Param('uid', NodeUidPipe) uid: string,
    @Body() dto: RegisterOAuthDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<object> {
    const { created, body } = await this.apps.registerOAuth(uid, dto);
    res.status(created ? 201 : 200);
    return body;
  }
}
