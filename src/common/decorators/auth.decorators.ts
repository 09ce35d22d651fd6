import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { Principal } from '../guards/principal';

export const IS_PUBLIC = 'arbor:is-public';
export const REQUIRED_ROLE = 'arbor:required-role';

/** The route needs no token. Every other route requires a valid one. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** Only principals holding the admin role may call the route (403 otherwise). */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_ROLE, 'admin');

/** The authenticated principal of the request. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<Request>().user as Principal | undefined;
  if (!principal) throw new Error('CurrentPrincipal used on a route without authentication');
  return principal;
});
