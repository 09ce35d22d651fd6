import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { ADMIN_ACCESS, type AdminAccess, IS_PUBLIC } from '../../common/decorators/auth.decorators';
import type { AdminScope } from '../../common/guards/admin-scope';
import type { Principal } from '../../common/guards/principal';
import { requestContext } from '../../common/logging/request-context';
import { AdminScopeLink } from '../accounts/admin-scope.link';
import { AuthErrors } from './auth.errors';
import { API_READ_SCOPE } from './jwt-bearer.strategy';

/** `Authorization: Bearer …` is an app's OAuth access token (see JwtBearerStrategy). */
class BearerGuard extends AuthGuard('bearer-jwt') {
  override handleRequest<TUser = Principal>(error: unknown, user: TUser | false): TUser {
    if (error instanceof Error) throw error;
    if (!user) throw AuthErrors.invalidToken();
    return user;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The one principal guard, installed globally: every route needs a valid token unless marked @Public().
 * Admin routes (AdminAccess) also get the caller's management scope resolved here, once, and answer 403
 * when the caller holds neither the superuser role, nor a sub-admin group, nor the named power.
 */
@Injectable()
export class PrincipalGuard extends AuthGuard('token') {
  private readonly bearer = new BearerGuard();

  constructor(
    private readonly reflector: Reflector,
    private readonly scopes: AdminScopeLink,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<Request>();
    // A JWT-shaped Bearer value is an app's token; anything else goes to the Token strategy, which
    // explains the header it expects.
    if (/^Bearer\s+[\w-]+\.[\w-]+\.[\w-]+\s*$/i.test(req.headers.authorization ?? '')) {
      await this.bearer.canActivate(context);
      // An app's token reads on its user's behalf: it needs the read scope, and never writes.
      const granted = (req.user as Principal).oauthScopes ?? [];
      if (!granted.includes(API_READ_SCOPE) || !SAFE_METHODS.has(req.method))
        throw AuthErrors.insufficientScope();
    } else {
      await super.canActivate(context);
    }
    const principal = req.user as Principal;
    const store = requestContext.getStore();
    if (store) store.principal = principal;
    const access = this.reflector.getAllAndOverride<AdminAccess | undefined>(ADMIN_ACCESS, targets);
    if (!access) return true;
    const isSuperuser = principal.roles.includes('admin');
    if (access.kind === 'superuser' && !isSuperuser) throw AuthErrors.forbidden();
    const scope = await this.scopes.view.resolve({ id: principal.userId, isAdmin: isSuperuser });
    if (!allows(access, scope)) throw AuthErrors.forbidden();
    principal.scope = scope;
    if (scope.isManager && !principal.roles.includes('manager')) principal.roles.push('manager');
    return true;
  }

  override handleRequest<TUser = Principal>(error: unknown, user: TUser | false): TUser {
    if (error instanceof Error) throw error;
    if (!user) throw AuthErrors.notProvided();
    return user;
  }
}

function allows(access: AdminAccess, scope: AdminScope): boolean {
  if (scope.unrestricted) return true;
  switch (access.kind) {
    case 'superuser':
      return false;
    case 'manager':
      return scope.isManager;
    case 'power':
      return scope.has(access.power);
    case 'managerOrPower':
      return scope.isManager || scope.has(access.power);
  }
}
