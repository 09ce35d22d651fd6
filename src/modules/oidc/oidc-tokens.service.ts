import { Injectable } from '@nestjs/common';
import { OAuthError } from '../../common/filters/oauth-exception.filter';
import { OidcAccountsService } from './oidc-accounts.service';
import { OidcProviderService } from './oidc-provider.service';

/** Reads of provider-issued tokens outside the provider's own endpoints. */
@Injectable()
export class OidcTokensService {
  constructor(
    private readonly provider: OidcProviderService,
    private readonly accounts: OidcAccountsService,
  ) {}

  async userinfo(authorization: string | undefined): Promise<object> {
    const match = /^Bearer\s+([A-Za-z0-9_~.+/-]+=*)\s*$/i.exec(authorization ?? '');
    if (!match) throw OAuthError.invalidToken('no Bearer access token');
    const provider = await this.provider.current();
    const token = await provider.AccessToken.find(match[1]);
    if (!token || token.isExpired || !token.accountId)
      throw OAuthError.invalidToken('invalid or expired access token');
    const client = token.clientId ? await this.provider.client(token.clientId) : null;
    const user = client ? await this.accounts.findUser(token.accountId) : null;
    if (!client || !user || !(await this.accounts.hasAccess(user, client.appUid))) {
      throw OAuthError.invalidToken('the token no longer grants access');
    }
    const claims = await this.accounts.claims(user, new Set((token.scope ?? '').split(' ')), client.appUid);
    return {
      ...claims,
      data: { user: { id: user.id, name: user.username, email: user.email || user.privateEmail || '' } },
    };
  }
}
