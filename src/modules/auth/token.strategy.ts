import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-custom';
import type { Principal } from '../../common/guards/principal';
import { UsersService } from '../accounts/users.service';
import { AuthErrors } from './auth.errors';
import { sessionKeyOf } from './session-cookie';
import { TokensService } from './tokens.service';

/** `Authorization: Token <key>` (ArkID), else the session cookie set at login for browser pages. */
export function presentedKey(req: Request): string | null {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Token\s+(\S+)\s*$/i.exec(header);
    if (!match) throw AuthErrors.invalidHeader();
    return match[1];
  }
  return sessionKeyOf(req);
}

@Injectable()
export class TokenStrategy extends PassportStrategy(Strategy, 'token') {
  constructor(
    private readonly tokens: TokensService,
    private readonly users: UsersService,
  ) {
    super();
  }

  async validate(req: Request): Promise<Principal> {
    const key = presentedKey(req);
    if (key === null) throw AuthErrors.notProvided();
    const token = await this.tokens.authenticate(key);
    const user = await this.users.findLiveForSession(token.userId);
    if (!user || !user.isActive) throw AuthErrors.inactiveUser();
    if (!user.isAdmin) await this.users.recordActivity(user);
    const principal: Principal = {
      userId: user.id,
      username: user.username,
      name: user.name,
      tokenId: token.id,
      roles: user.isAdmin ? ['admin'] : [],
    };
    // auth/token/ answers with this same row; the handler takes it from here instead of reading it again.
    this.tokens.rememberUserOf(principal, user);
    return principal;
  }
}
