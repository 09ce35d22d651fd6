import { Body, Controller, Get, HttpCode, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public, RequirePower } from '../../common/decorators/auth.decorators';
import { apiPaths } from '../../common/http/api-paths';
import { setSessionCookie } from '../auth/session-cookie';
import type { TaskTicketDto } from '../jobs/tasks.service';
import { DingConfigService } from './ding-config.service';
import { DingSyncService, type PreflightDto } from './ding-sync.service';
import { type DingSyncSettingsDto, UpdateDingSyncSettingsDto } from './dto/ding-sync-settings.dto';

function dryRunOf(query: Record<string, unknown>, body: unknown): boolean {
  const fromBody =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>).dry_run : undefined;
  const value = query.dry_run ?? fromBody;
  return value === true || value === 'true' || value === 'True';
}

@ApiTags('sync')
@Controller(apiPaths())
export class SyncController {
  constructor(
    private readonly sync: DingSyncService,
    private readonly dingConfig: DingConfigService,
  ) {}

  @RequirePower('system_account_sync')
  @Post('task/import/ding')
  @HttpCode(200)
  @ApiBearerAuth('Token')
  @ApiOperation({
    summary: 'Queue a pull from DingTalk (`dry_run=true`: the diff only). Returns a TaskTicket.',
  })
  importDing(@Query() query: Record<string, unknown>, @Body() body: unknown): Promise<TaskTicketDto> {
    return this.sync.enqueue('pull', dryRunOf(query, body));
  }

  /** D27: GET is kept only as an alias of POST for ArkID clients. */
  @RequirePower('system_account_sync')
  @Get('task/import/ding')
  @ApiBearerAuth('Token')
  @ApiOperation({ summary: 'Alias of POST task/import/ding/ (ArkID compatibility)', deprecated: true })
  importDingAlias(@Query() query: Record<string, unknown>): Promise<TaskTicketDto> {
    return this.sync.enqueue('pull', dryRunOf(query, undefined));
  }

  @RequirePower('system_account_sync')
  @Post('task/override/ding')
  @HttpCode(200)
  @ApiBearerAuth('Token')
  @ApiOperation({
    summary: 'Queue a push to DingTalk (`dry_run=true`: the diff only). Returns a TaskTicket.',
  })
  overrideDing(@Query() query: Record<string, unknown>, @Body() body: unknown): Promise<TaskTicketDto> {
    return this.sync.enqueue('push', dryRunOf(query, body));
  }

  @RequirePower('system_account_sync')
  @Get('task/override/ding')
  @ApiBearerAuth('Token')
  @ApiOperation({ summary: 'Alias of POST task/override/ding/ (ArkID compatibility)', deprecated: true })
  overrideDingAlias(@Query() query: Record<string, unknown>): Promise<TaskTicketDto> {
    return this.sync.enqueue('push', dryRunOf(query, undefined));
  }

  @RequirePower('system_account_sync')
  @Post('sync/ding/preflight')
  @HttpCode(200)
  @ApiBearerAuth('Token')
  @ApiOperation({
    summary: 'Check the DingTalk credentials and the scopes a pull needs; names the missing one',
  })
  preflight(): Promise<PreflightDto> {
    return this.sync.preflight();
  }

  @RequirePower('system_config_write')
  @Get('sync/ding/config')
  @ApiBearerAuth('Token')
  @ApiOperation({
    summary: 'The sync settings: leaver policy and pull/push schedules (credentials are in config/)',
  })
  readConfig(): Promise<DingSyncSettingsDto> {
    return this.dingConfig.read();
  }

  @RequirePower('system_config_write')
  @Patch('sync/ding/config')
  @ApiBearerAuth('Token')
  @ApiOperation({ summary: 'Change the leaver policy and the pull/push cron schedules' })
  updateConfig(@Body() dto: UpdateDingSyncSettingsDto): Promise<DingSyncSettingsDto> {
    return this.dingConfig.update(dto);
  }

  @Public()
  @Post('ucenter/ding/login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with a DingTalk in-app login code (`{code}`)' })
  async dingLogin(
    @Body() body: { code?: unknown },
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<object> {
    const code = typeof body?.code === 'string' && body.code !== '' ? body.code.slice(0, 256) : undefined;
    const { body: answer, expiresAt } = await this.sync.loginWithCode(code, clientOf(req));
    setSessionCookie(req, res, answer.token, expiresAt);
    return answer;
  }

  @Public()
  @Post('ding/qr/callback')
  @HttpCode(200)
  @ApiOperation({
    summary: 'DingTalk QR-login callback: `{code}` to the bound user (or `{token: "", third_party_id}`)',
  })
  dingQrCallback(@Body() body: { code?: unknown; authCode?: unknown }, @Req() req: Request): Promise<object> {
    const text = (value: unknown) =>
      typeof value === 'string' && value !== '' ? value.slice(0, 256) : undefined;
    return this.sync.qrCallback({ legacy: text(body?.code), authCode: text(body?.authCode) }, clientOf(req));
  }
}

function clientOf(req: Request): { ip: string; userAgent: string } {
  return { ip: req.ip ?? '', userAgent: req.get('user-agent') ?? '' };
}
