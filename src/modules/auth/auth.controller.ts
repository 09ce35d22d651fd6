import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  CurrentPrincipal,
  CurrentScope,
  ManagerAccess,
  Public,
} from '../../common/decorators/auth.decorators';
import type { AdminScope } from '../../common/guards/admin-scope';
import type { Principal } from '../../common/guards/principal';
import { apiPaths } from '../../common/http/api-paths';
import { UsernamePipe } from '../../common/pipes/path-params.pipe';
import { AuthService } from './auth.service';
import { LoginDto, UserWithPermDto, UserWithPermWithTokenDto } from './dto/login.dto';
import { clearSessionCookie, setSessionCookie } from './session-cookie';

@ApiTags('auth')
@Controller(apiPaths())
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('ucenter/login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with username, private_email or mobile and a password' })
  @ApiOkResponse({ type: UserWithPermWithTokenDto })
  @ApiTooManyRequestsResponse({ description: 'Locked or throttled; see Retry-After' })
  async login(
    @Body() dto: LoginDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UserWithPermWithTokenDto> {
    const { body, expiresAt } = await this.auth.login(dto, {
      ip: req.ip ?? '',
      userAgent: req.get('user-agent') ?? '',
    });
    setSessionCookie(req, res, body.token, expiresAt);
    return body;
  }

  @Post('revoke/token')
  @HttpCode(200)
  @ApiBearerAuth('Token')
  @ApiOperation({ summary: 'Revoke the presented token (sign out this session)' })
  async revoke(
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<object> {
    await this.auth.logout(principal);
    clearSessionCookie(req, res);
    return {};
  }

  @Get('auth/token')
  @ApiBearerAuth('Token')
  @ApiOperation({
    summary:
      "The token's user and its permissions; with `perm_uid`, 403 (same body) when it is not held. " +
      '`app_uid` or `oauth_client_id` narrows `perms` to one app. 401 when the token is not valid.',
  })
  @ApiOkResponse({ type: UserWithPermDto })
  currentUser(
    @CurrentPrincipal() principal: Principal,
    @Query() query: Record<string, unknown>,
  ): Promise<UserWithPermDto> {
    const text = (key: string): string | undefined => {
      const value = query[key];
      return typeof value === 'string' && value !== '' ? value.slice(0, 200) : undefined;
    };
    return this.auth.currentUser(principal, {
      permUid: text('perm_uid'),
      appUid: text('app_uid'),
      oauthClientId: text('oauth_client_id'),
    });
  }

  @ManagerAccess()
  @Post('user/:username/unlock')
  @HttpCode(200)
  @ApiBearerAuth('Token')
  @ApiOperation({ summary: 'Clear failed-login counters and any lock on an account' })
  async unlock(
    @Param('username', UsernamePipe) username: string,
    @CurrentScope() scope: AdminScope,
  ): Promise<object> {
    await this.auth.unlock(username, scope);
    return {};
  }
}
