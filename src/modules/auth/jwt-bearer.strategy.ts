import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { Principal } from '../../common/guards/principal';
import { UsersService } from '../accounts/users.service';
import { AuthErrors } from './auth.errors';
import { BearerKeysLink } from './bearer-keys.link';

/** The scope an app's token needs to read Arbor's REST API on its user's behalf. */
export const API_READ_SCOPE = 'arbor.read';

interface ApiTokenClaims {
  sub?: string;
  scope?: string;
  gid?: string;
  client_id?: string;
}

/**
 * `Authorization: Bearer <jwt>`: an access token Arbor's OAuth provider issued for Arbor's own API
 * (audience = the API), verified against Arbor's published keys (ES256, issuer, audience, expiry), its
 * grant still standing and its user live and active. It acts as that user, read-only (see
 * PrincipalGuard); client-credentials tokens name no user and are refused.
 */
@Injectable()
export class JwtBearerStrategy extends PassportStrategy(Strategy, 'bearer-jwt') {
  constructor(
    private readonly link: BearerKeysLink,
    private readonly users: UsersService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      algorithms: ['ES256'],
      passReqToCallback: false,
      secretOrKeyProvider: (_req: Request, rawJwt: string, done: (err: unknown, key?: string) => void) => {
        const keys = link.keys;
        const kid = kidOf(rawJwt);
        if (!keys || !kid) {
          done(AuthErrors.invalidToken());
          return;
        }
        keys.publicKey(kid).then(
          (pem) => (pem ? done(null, pem) : done(AuthErrors.invalidToken())),
          (error: unknown) => done(error),
        );
      },
      // Checked against the connected provider at verification time (see validate): the link is
      // connected after this strategy is constructed.
      jsonWebTokenOptions: { clockTolerance: 15 },
    });
  }

  async validate(claims: ApiTokenClaims): Promise<Principal> {
    const keys = this.link.keys;
    if (!keys) throw AuthErrors.invalidToken();
    const payload = claims as ApiTokenClaims & { iss?: string; aud?: string | string[] };
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (payload.iss !== keys.issuer || !audiences.includes(keys.audience)) throw AuthErrors.invalidToken();
    if (!claims.sub || claims.sub === claims.client_id || !/^\d+$/.test(claims.sub)) {
      throw AuthErrors.invalidToken();
    }
    if (!claims.gid || !(await keys.grantActive(claims.gid))) throw AuthErrors.invalidToken();
    const user = await this.users.findLiveForSession(Number(claims.sub));
    if (!user || !user.isActive) throw AuthErrors.inactiveUser();
    return {
      userId: user.id,
      username: user.username,
      name: user.name,
      // No Arbor session stands behind an app's token: nothing to revoke, and writes are refused.
      tokenId: 0,
      roles: user.isAdmin ? ['admin'] : [],
      oauthScopes: (claims.scope ?? '').split(' ').filter(Boolean),
    };
  }
}

function kidOf(rawJwt: string): string | null {
  try {
    const header = JSON.parse(Buffer.from(rawJwt.split('.')[0], 'base64url').toString('utf8')) as {
      kid?: unknown;
    };
    return typeof header.kid === 'string' ? header.kid : null;
  } catch {
    return null;
  }
}
