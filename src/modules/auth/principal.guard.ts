import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { IS_PUBLIC, REQUIRED_ROLE } from '../../common/decorators/auth.decorators';
import type { Principal, Role } from '../../common/guards/principal';
import { AuthErrors } from './auth.errors';

/**
 * The one principal guard, installed globally: every route needs a valid token unless marked @Public(),
 * and routes marked with a role need a principal that holds it (403 otherwise).
 */
@Injectable()
export class PrincipalGuard extends AuthGuard('token') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    await super.canActivate(context);
    const role = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets);
    const principal = context.switchToHttp().getRequest<Request>().user as Principal;
    if (role && !principal.roles.includes(role)) throw AuthErrors.forbidden();
    return true;
  }

  override handleRequest<TUser = Principal>(error: unknown, user: TUser | false): TUser {
    if (error instanceof Error) throw error;
    if (!user) throw AuthErrors.notProvided();
    return user;
  }
}
