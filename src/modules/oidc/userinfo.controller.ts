import { Controller, Get, Header, Req, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../../common/decorators/auth.decorators';
import { OAuthExceptionFilter } from '../../common/filters/oauth-exception.filter';
import { OidcTokensService } from './oidc-tokens.service';

/**
 * ArkID's `/oauth/userinfo/`: any app access token (OAuth or OIDC) answers ArkID's
 * `{"data": {"user": {"id", "name", "email"}}}` beside the standard claims its scopes release, with the
 * same `sub` as the id_token. The OIDC UserInfo endpoint proper is `/oauth/oidc/userinfo/`.
 */
@ApiTags('oauth')
@Controller('oauth/userinfo')
@UseFilters(OAuthExceptionFilter)
export class UserinfoController {
  constructor(private readonly tokens: OidcTokensService) {}

  @Public()
  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The access token user: ArkID fields plus the claims of the granted scopes' })
  userinfo(@Req() req: Request): Promise<object> {
    return this.tokens.userinfo(req.get('authorization'));
  }
}
