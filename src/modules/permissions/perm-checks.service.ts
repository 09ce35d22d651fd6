import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Request } from 'express';
import { AppConfig } from '../../config/app-config';
import { UNRESTRICTED_SCOPE } from '../../common/guards/admin-scope';
import { isAdmin, type Principal } from '../../common/guards/principal';
import { Metrics } from '../../common/metrics/metrics.service';
import { type Page, pageRequest, toPage } from '../../common/pagination/pagination';
import {
  type PermCheckRequest,
  type PermCheckResult,
  UserPermsLink,
  type UserPermsView,
} from '../accounts/user-perms.link';
import { AppsRepository } from './apps.repository';
import { accessPermUid } from './apps.service';
import { PermissionErrors } from './permissions.errors';
import { toPublicAppResponse } from './permissions.mapper';
import { PermissionResolver } from './permission-resolver.service';
import type { PermDef, PermissionSnapshot } from './permission-snapshot';
import { PermsService, type UserPermRow } from './perms.service';

/** What a signed-in user may do: the third-party check, the workbench, and its own permissions. */
@Injectable()
export class PermChecksService implements OnModuleInit, UserPermsView {
  constructor(
    private readonly resolver: PermissionResolver,
    private readonly apps: AppsRepository,
    private readonly perms: PermsService,
    private readonly link: UserPermsLink,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.link.connect(this);
  }

  async check(user: { id: number; isAdmin: boolean }, request: PermCheckRequest): Promise<PermCheckResult> {
    let appUid: string | undefined;
    if (request.oauthClientId !== undefined) {
      const app = await this.apps.findByClientId(request.oauthClientId);
      if (!app) throw PermissionErrors.clientNotFound();
      appUid = app.uid;
    }
    const snapshot = await this.resolver.current();
    if (appUid === undefined && request.appUid !== undefined) {
      // Every app has its access permission, so the snapshot knows which apps exist.
      if (!snapshot.perm(accessPermUid(request.appUid))) throw PermissionErrors.appNotFound();
      appUid = request.appUid;
    }
    const held = this.held(snapshot, user);
    const prefix = appUid === undefined ? null : `app_${appUid}_`;
    const perms = (
      prefix === null
        ? held.map((p) => p.uid)
        : held.filter((p) => p.uid.startsWith(prefix)).map((p) => p.uid.slice(prefix.length))
    ).sort();
    let granted = true;
    if (request.permUid !== undefined) {
      // Within an app the short form (`access`) names the app's permission too.
      const perm =
        snapshot.perm(request.permUid) ??
        (prefix === null ? undefined : snapshot.perm(prefix + request.permUid));
      // An unknown permission is refused, for admins too: a typo must not read as a grant.
      granted = perm !== undefined && (user.isAdmin || snapshot.decideUser(user.id, perm).value);
      this.metrics.permissionDecision(granted ? 'granted' : 'denied');
    }
    return { perms, granted, externUser: snapshot.org.isExternUser(user.id) };
  }

  /** `ucenter/apps/`: admins see every app; others the apps whose access permission they hold. */
  async workbench(principal: Principal, req: Request, query: Record<string, unknown>): Promise<Page<object>> {
    const name = typeof query.name === 'string' && query.name !== '' ? query.name : undefined;
    let ids: number[] | undefined;
    if (!isAdmin(principal)) {
      const snapshot = await this.resolver.current();
      ids = snapshot
        .granted(principal.userId)
        .filter((p) => p.subject === 'app' && p.action === 'access' && p.appId !== null)
        .map((p) => p.appId as number);
    }
    const page = pageRequest(query);
    // The workbench is the caller's own apps, not an admin view: no management scope applies.
    const [apps, count] = await this.apps.list({ name, ids }, page, UNRESTRICTED_SCOPE.appCondition('a.id'));
    const clients = await this.apps.clientsOf(apps.map((a) => a.id));
    const results = apps.map((app) =>
      toPublicAppResponse(
        app,
        clients.filter((c) => c.appId === app.id),
      ),
    );
    return toPage(req, this.config.baseUrl, page, count, results);
  }

  /** `ucenter/perm/`: the caller's permissions whose value is true, by id. */
  async ownPerms(
    principal: Principal,
    req: Request,
    query: Record<string, unknown>,
  ): Promise<Page<UserPermRow>> {
    const snapshot = await this.resolver.current();
    const held = snapshot.granted(principal.userId).sort((a, b) => a.id - b.id);
    const page = pageRequest(query);
    const rows = held
      .slice(page.offset, page.offset + page.pageSize)
      .map((perm) => this.perms.userPermRow(perm, snapshot.decideUser(principal.userId, perm)));
    return toPage(req, this.config.baseUrl, page, held.length, rows);
  }

  /** Admins pass every check, so they hold every permission. */
  private held(snapshot: PermissionSnapshot, user: { id: number; isAdmin: boolean }): PermDef[] {
    return user.isAdmin ? [...snapshot.perms.perms.values()] : snapshot.granted(user.id);
  }
}
