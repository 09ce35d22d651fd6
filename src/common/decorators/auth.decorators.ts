import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { AdminActor, AdminScope, SystemPower } from '../guards/admin-scope';
import type { Principal } from '../guards/principal';

export const IS_PUBLIC = 'arbor:is-public';
export const ADMIN_ACCESS = 'arbor:admin-access';

/**
 * Who may call an admin route (contract "Who" tags): `superuser` = admin only; `manager` = admin or any
 * sub-admin, whose targets the service then checks against its scope; `power` = admin or a caller whose
 * resolved system permission is true.
 */
export type AdminAccess =
  | { kind: 'superuser' }
  | { kind: 'manager' }
  | { kind: 'power'; power: SystemPower }
  | { kind: 'managerOrPower'; power: SystemPower };

/** The route needs no token. Every other route requires a valid one. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** Only superusers may call the route (403 otherwise). */
export const AdminOnly = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ADMIN_ACCESS, { kind: 'superuser' } satisfies AdminAccess);

/** Superusers and sub-admins; the handler works within the caller's scope (`@CurrentScope()`). */
export const ManagerAccess = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ADMIN_ACCESS, { kind: 'manager' } satisfies AdminAccess);

/** Superusers and callers holding the system permission (`+sys:X`), within their scope. */
export const RequirePower = (power: SystemPower): MethodDecorator & ClassDecorator =>
  SetMetadata(ADMIN_ACCESS, { kind: 'power', power } satisfies AdminAccess);

/** Sub-admins (within their scope) and holders of the power, e.g. creating nodes or categories. */
export const ManagerOrPower = (power: SystemPower): MethodDecorator & ClassDecorator =>
  SetMetadata(ADMIN_ACCESS, { kind: 'managerOrPower', power } satisfies AdminAccess);

/** The authenticated principal of the request. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<Request>().user as Principal | undefined;
  if (!principal) throw new Error('CurrentPrincipal used on a route without authentication');
  return principal;
});

/** The caller's management scope; only on routes marked AdminOnly, ManagerAccess or RequirePower. */
export const CurrentScope = createParamDecorator((_: unknown, ctx: ExecutionContext): AdminScope => {
  const principal = ctx.switchToHttp().getRequest<Request>().user as Principal | undefined;
  if (!principal?.scope) throw new Error('CurrentScope used on a route without an admin access rule');
  return principal.scope;
});

/** The caller and its scope; only on routes marked AdminOnly, ManagerAccess or RequirePower. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): AdminActor => {
  const principal = ctx.switchToHttp().getRequest<Request>().user as Principal | undefined;
  if (!principal?.scope) throw new Error('CurrentActor used on a route without an admin access rule');
  return { userId: principal.userId, scope: principal.scope };
});
