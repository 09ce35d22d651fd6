import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { ChangeStamps } from '../../common/database/change-stamps';
import type { AdminActor, AdminScope } from '../../common/guards/admin-scope';
import { TransactionRunner, uniqueViolationIndex } from '../../common/database/transaction-runner';
import { queryBool } from '../../common/http/query-params';
import { type Page, pageRequest, toPage } from '../../common/pagination/pagination';
import { UsersService } from '../accounts/users.service';
import { AuditService } from '../audit/audit.service';
import { uidBaseFromName } from '../org/node-uid';
import { OrgService } from '../org/org.service';
import { AppLifecycleHooks } from './app-lifecycle.hooks';
import { AppsRepository } from './apps.repository';
import type {
  AppFieldsDto,
  CreateAppDto,
  OAuthAppDto,
  OidcAppDto,
  RegisterOAuthDto,
  UpdateAppDto,
} from './dto/app-input.dto';
import type { AppClientEntity, ClientProtocol } from './entities/app-client.entity';
import type { AppEntity } from './entities/app.entity';
import { implicitRedirectProblem, splitUris } from './client-uris';
import { PermissionErrors } from './permissions.errors';
import { toAppResponse } from './permissions.mapper';
import { PermissionResolver } from './permission-resolver.service';
import type { PermissionSnapshot } from './permission-snapshot';
import { PermsRepository } from './perms.repository';
import { PermsService } from './perms.service';
import { constantTimeEqual, sha256Hex } from '../../common/crypto/secrets';

/** The flow of a client created without one (ArkID's defaults). */
const DEFAULT_FLOW: Record<ClientProtocol, string> = { oauth: 'authorization-code', oidc: 'code' };

export function accessPermUid(appUid: string): string {
  return `app_${appUid}_access`;
}

/** An OAuth client secret: 256 random bits, shown once; only its SHA-256 is kept. */
function newClientSecret(): { secret: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, hash: sha256Hex(secret) };
}

/** Whether a presented client secret is the one whose SHA-256 is stored; constant time in the secret. */
export function clientSecretMatches(storedHash: string, presented: string): boolean {
  return constantTimeEqual(Buffer.from(storedHash, 'hex'), Buffer.from(sha256Hex(presented), 'hex'));
}

/** Apps, their protocol parts and their access permission `app_<uid>_access`. */
@Injectable()
export class AppsService {
  constructor(
    private readonly apps: AppsRepository,
    private readonly perms: PermsRepository,
    private readonly permsService: PermsService,
    private readonly resolver: PermissionResolver,
    private readonly users: UsersService,
    private readonly org: OrgService,
    private readonly tx: TransactionRunner,
    private readonly stamps: ChangeStamps,
    private readonly appHooks: AppLifecycleHooks,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /**
   * `app/`: APPWithAccess, newest first. `user_uid` or `node_uid` names the owner whose access is shown
   * in `access_result`; `owner_access` keeps the apps where that owner's access equals it. Sub-admins
   * list only the apps they manage, and may ask about owners they manage.
   */
  async list(req: Request, query: Record<string, unknown>, scope: AdminScope): Promise<Page<object>> {
    const name = typeof query.name === 'string' && query.name !== '' ? query.name : undefined;
    const owner = await this.ownerOf(query, scope);
    const ownerAccess =
      query.owner_access === undefined || query.owner_access === ''
        ? undefined
        : queryBool(query, 'owner_access');
    if (ownerAccess !== undefined && !owner) {
      throw PermissionErrors.ownerNotFound(query.user_uid !== undefined ? 'user_uid' : 'node_uid');
    }
    const snapshot = await this.resolver.current();
    let ids: number[] | undefined;
    if (owner && ownerAccess !== undefined) {
      ids = [...snapshot.perms.perms.values()]
        .filter((p) => p.subject === 'app' && p.action === 'access' && p.appId !== null)
        .filter((p) => this.accessValue(snapshot, owner, p.uid) === ownerAccess)
        .map((p) => p.appId as number);
    }
    const page = pageRequest(query);
    const [apps, count] = await this.apps.list({ name, ids }, page, scope.appCondition('a.id'));
    const clients = await this.clientsByApp(apps.map((a) => a.id));
    const accessPerms = apps.flatMap((app) => snapshot.perm(accessPermUid(app.uid)) ?? []);
    const summaries = new Map(
      (await this.permsService.withOwners(snapshot, accessPerms, 'all', scope)).map((p) => [p.uid, p]),
    );
    const results = apps.map((app) => {
      const body = toAppResponse(app, clients.get(app.id) ?? []);
      body.access_perm = summaries.get(accessPermUid(app.uid)) ?? null;
      body.access_result = {
        node_uid: owner?.kind === 'node' ? owner.nodeUid : null,
        user_uid: owner?.kind === 'user' ? owner.username : null,
        value: owner ? this.accessValue(snapshot, owner, accessPermUid(app.uid)) : false,
      };
      return body;
    });
    return toPage(req, this.config.baseUrl, page, count, results);
  }

  /** The creator also gets a sub-admin group over the new app (contract §3.6). */
  async create(dto: CreateAppDto, actor: AdminActor): Promise<object> {
    const uid = dto.uid ?? (await uidBaseFromName(dto.name)).slice(0, 56);
    return this.writeUnique(async (manager) => {
      let free = uid;
      if (dto.uid === undefined) {
        for (let n = 1; await this.apps.uidTaken(free, manager); n++) free = `${uid}${n}`;
      } else if (await this.apps.uidTaken(free, manager)) {
        throw PermissionErrors.appUidTaken();
      }
      const app = await this.apps.insert(manager, {
        uid: free,
        name: dto.name,
        indexUrl: dto.index ?? '',
        logo: dto.logo ?? '',
        remark: dto.remark ?? '',
        allowAnyUser: dto.allow_any_user ?? false,
        ldapEnabled: Boolean(dto.ldap_app),
        httpEnabled: Boolean(dto.http_app),
      });
      await this.perms.insert(manager, {
        uid: accessPermUid(app.uid),
        name: `访问${app.name}`,
        remark: '',
        subject: 'app',
        scope: app.uid,
        action: 'access',
        appId: app.id,
        defaultValue: app.allowAnyUser,
        editable: false,
      });
      const secrets = await this.applyClients(manager, app, dto);
      await this.appHooks.created(manager, app, actor.userId);
      await this.stamps.bump(manager, 'perm');
      await this.audit.record(manager, {
        subject: 'app_create',
        summary: `创建应用 ${app.name} (${app.uid})`,
        targetAppId: app.id,
      });
      return toAppResponse(app, await this.apps.clientsOf([app.id], manager), secrets);
    });
  }

  async detail(uid: string, scope: AdminScope): Promise<object> {
    const app = await this.requireApp(uid, scope);
    return toAppResponse(app, await this.apps.clientsOf([app.id]));
  }

  async update(uid: string, dto: UpdateAppDto, scope: AdminScope): Promise<object> {
    return this.tx.run(async (manager) => {
      const app = await this.requireApp(uid, scope, manager);
      if (dto.uid !== undefined && dto.uid !== app.uid) throw PermissionErrors.uidImmutable();
      const changes: Partial<AppEntity> = {};
      if (dto.name !== undefined) changes.name = dto.name;
      if (dto.index !== undefined) changes.indexUrl = dto.index;
      if (dto.logo !== undefined) changes.logo = dto.logo;
      if (dto.remark !== undefined) changes.remark = dto.remark;
      if (dto.allow_any_user !== undefined) changes.allowAnyUser = dto.allow_any_user;
      if (dto.ldap_app !== undefined) changes.ldapEnabled = dto.ldap_app !== null;
      if (dto.http_app !== undefined) changes.httpEnabled = dto.http_app !== null;
      await this.apps.update(manager, app.id, changes);
      Object.assign(app, changes);
      // The access permission follows the app; decisions only need a new snapshot when it changed.
      const access = await this.perms.findByUid(accessPermUid(app.uid), manager);
      if (access && (access.defaultValue !== app.allowAnyUser || access.name !== `访问${app.name}`)) {
        await this.perms.update(manager, access.id, {
          defaultValue: app.allowAnyUser,
          name: `访问${app.name}`,
        });
        await this.stamps.bump(manager, 'perm');
      }
      const secrets = await this.applyClients(manager, app, dto);
      await this.audit.record(manager, {
        subject: 'app_update',
        summary: `修改应用 ${app.name} (${app.uid}): ${Object.keys(dto).join(', ')}`,
        targetAppId: app.id,
      });
      return toAppResponse(app, await this.apps.clientsOf([app.id], manager), secrets);
    });
  }

  /** Deletes the app, its clients, its permissions and every assignment of them, in one transaction. */
  async remove(uid: string, scope: AdminScope): Promise<void> {
    await this.tx.run(async (manager) => {
      const app = await this.requireApp(uid, scope, manager);
      const perms = await this.perms.ofApp(app.id, manager);
      await this.perms.delete(
        manager,
        perms.map((p) => p.id),
      );
      await this.audit.record(manager, {
        subject: 'app_delete',
        summary: `删除应用 ${app.name} (${app.uid})`,
        targetAppId: app.id,
      });
      await this.apps.delete(manager, app.id);
      await this.appHooks.removed(manager, app.id);
      await this.stamps.bump(manager, 'perm');
    });
  }

  /**
   * `app/{uid}/oauth/`: registers (or re-points) the app's OAuth client, with the client and grant type
   * when given; for an unknown uid, first creates the app named after it. The app's `index` becomes the
   * first redirect URI's origin. The URIs were checked one by one by the DTO.
   */
  async registerOAuth(
    uid: string,
    dto: RegisterOAuthDto,
    actor: AdminActor,
  ): Promise<{ created: boolean; body: object }> {
    const { redirect_uris, client_type, authorization_grant_type } = dto;
    const oauthApp: OAuthAppDto = { redirect_uris, client_type, authorization_grant_type };
    const index = new URL(splitUris(redirect_uris)[0]).origin;
    const existing = await this.apps.findByUid(uid);
    const current = existing
      ? (await this.apps.clientsOf([existing.id])).find((c) => c.protocol === 'oauth')
      : undefined;
    // Checked here too so that the error names this body's field rather than `oauth_app`.
    const implicit = implicitRedirectProblem(
      'oauth',
      authorization_grant_type ?? current?.flow ?? DEFAULT_FLOW.oauth,
      redirect_uris,
    );
    if (implicit !== null) throw PermissionErrors.badRedirectUri(null, implicit);
    if (!existing) {
      const body = (await this.create({ uid, name: uid, index, oauth_app: oauthApp }, actor)) as {
        oauth_app: object;
      };
      return { created: true, body: body.oauth_app };
    }
    const updated = (await this.update(uid, { index, oauth_app: oauthApp }, actor.scope)) as {
      oauth_app: object;
    };
    return { created: false, body: updated.oauth_app };
  }

  /**
   * `app/{uid}/oauth/secret/` (or `oidc/secret/`): a new secret for the app's client, shown once in this
   * answer. The old one stops working on the very next request: the provider reads the stored hash live.
   */
  async rotateClientSecret(uid: string, protocol: ClientProtocol, scope: AdminScope): Promise<object> {
    return this.tx.run(async (manager) => {
      const app = await this.requireApp(uid, scope, manager);
      const current = (await this.apps.clientsOf([app.id], manager)).find((c) => c.protocol === protocol);
      if (!current) throw PermissionErrors.notFound();
      const { secret, hash } = newClientSecret();
      await this.apps.saveClient(manager, { ...current, clientSecretHash: hash });
      await this.audit.record(manager, {
        subject: 'app_update',
        summary: `更换应用 ${app.name} (${app.uid}) 的 ${protocol === 'oauth' ? 'OAuth' : 'OIDC'} client_secret`,
        targetAppId: app.id,
      });
      const body = toAppResponse(
        app,
        await this.apps.clientsOf([app.id], manager),
        new Map([[protocol, secret]]),
      );
      return (body as Record<string, object>)[protocol === 'oauth' ? 'oauth_app' : 'oidc_app'];
    });
  }

  /** An OAuth/OIDC client and its app, read live (the provider asks on every request). */
  async findClient(clientId: string): Promise<{ app: AppEntity; client: AppClientEntity } | null> {
    const client = await this.apps.findClientByClientId(clientId);
    if (!client) return null;
    const [app] = await this.apps.findByIds([client.appId]);
    return app ? { app, client } : null;
  }

  // ---- helpers ----

  /** Apps by uid, for sub-admin groups; 400 `{"apps": "x not found"}` naming the unknown ones. */
  async requireIdsByUid(uids: string[], manager?: EntityManager): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (const uid of new Set(uids)) {
      const app = await this.apps.findByUid(uid, manager);
      if (app) found.set(uid, app.id);
    }
    const missing = [...new Set(uids)].filter((uid) => !found.has(uid));
    if (missing.length > 0) throw PermissionErrors.appsMissing(missing);
    return found;
  }

  /** uid and name of live apps, by id. */
  async briefsByIds(
    ids: number[],
    manager?: EntityManager,
  ): Promise<Map<number, { uid: string; name: string }>> {
    const apps = await this.apps.findByIds(ids, manager);
    return new Map(apps.map((a) => [a.id, { uid: a.uid, name: a.name }]));
  }

  /** An app the caller manages; any other reads as not found. */
  private async requireApp(uid: string, scope: AdminScope, manager?: EntityManager): Promise<AppEntity> {
    const app = await this.apps.findByUid(uid, manager);
    if (!app || !scope.managesApp(app.id)) throw PermissionErrors.notFound();
    return app;
  }

  /** Adds, changes or (for null) removes the OAuth and OIDC clients; returns secrets generated now. */
  private async applyClients(
    manager: EntityManager,
    app: AppEntity,
    dto: AppFieldsDto,
  ): Promise<Map<string, string>> {
    const secrets = new Map<string, string>();
    const existing = await this.apps.clientsOf([app.id], manager);
    const parts: [ClientProtocol, OAuthAppDto | OidcAppDto | null | undefined][] = [
      ['oauth', dto.oauth_app],
      ['oidc', dto.oidc_app],
    ];
    for (const [protocol, part] of parts) {
      if (part === undefined) continue;
      if (part === null) {
        await this.apps.deleteClient(manager, app.id, protocol);
        continue;
      }
      const field = protocol === 'oauth' ? 'oauth_app' : 'oidc_app';
      const current = existing.find((c) => c.protocol === protocol);
      const flow =
        'authorization_grant_type' in part
          ? part.authorization_grant_type
          : 'response_type' in part
            ? part.response_type
            : undefined;
      const client: Partial<AppClientEntity> = current
        ? { ...current }
        : {
            appId: app.id,
            protocol,
            clientId: randomBytes(16).toString('hex'),
            clientType: 'confidential',
            flow: DEFAULT_FLOW[protocol],
            redirectUris: '',
            backchannelLogoutUri: '',
            backchannelLogoutSessionRequired: false,
            skipAuthorization: false,
          };
      if (!current) {
        const { secret, hash } = newClientSecret();
        client.clientSecretHash = hash;
        secrets.set(protocol, secret);
      }
      if (part.redirect_uris !== undefined) client.redirectUris = part.redirect_uris;
      if (part.client_type !== undefined) client.clientType = part.client_type;
      if (flow !== undefined) client.flow = flow;
      if (part.backchannel_logout_uri !== undefined)
        client.backchannelLogoutUri = part.backchannel_logout_uri;
      if (part.backchannel_logout_session_required !== undefined)
        client.backchannelLogoutSessionRequired = part.backchannel_logout_session_required;
      if (part.skip_authorization !== undefined) client.skipAuthorization = part.skip_authorization;
      // On the merged client: a change of either the flow or the URIs may be what breaks the pair.
      const implicit = implicitRedirectProblem(protocol, client.flow ?? '', client.redirectUris ?? '');
      if (implicit !== null) throw PermissionErrors.badRedirectUri(field, implicit);
      await this.apps.saveClient(manager, client);
    }
    return secrets;
  }

  private async clientsByApp(appIds: number[]): Promise<Map<number, AppClientEntity[]>> {
    const byApp = new Map<number, AppClientEntity[]>();
    for (const client of await this.apps.clientsOf(appIds)) {
      const list = byApp.get(client.appId);
      if (list) list.push(client);
      else byApp.set(client.appId, [client]);
    }
    return byApp;
  }

  private async ownerOf(
    query: Record<string, unknown>,
    scope: AdminScope,
  ): Promise<
    { kind: 'user'; id: number; username: string } | { kind: 'node'; id: number; nodeUid: string } | null
  > {
    if (typeof query.user_uid === 'string' && query.user_uid !== '') {
      const user = await this.users.findLiveByUsername(query.user_uid);
      if (!user || !scope.managesUser(user.id)) throw PermissionErrors.ownerNotFound('user_uid');
      return { kind: 'user', id: user.id, username: user.username };
    }
    if (typeof query.node_uid === 'string' && query.node_uid !== '') {
      const node = await this.org.findByNodeUid(query.node_uid);
      if (!node || !scope.managesNode(node.id)) throw PermissionErrors.ownerNotFound('node_uid');
      return { kind: 'node', id: node.id, nodeUid: query.node_uid };
    }
    return null;
  }

  private accessValue(
    snapshot: PermissionSnapshot,
    owner: { kind: 'user' | 'node'; id: number },
    permUid: string,
  ): boolean {
    const perm = snapshot.perm(permUid);
    if (!perm) return false;
    return owner.kind === 'user'
      ? snapshot.decideUser(owner.id, perm).value
      : snapshot.decideNode(owner.id, perm).value;
  }

  private async writeUnique<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.tx.run(work);
    } catch (error) {
      // Two creations raced for one uid; the loser reports what a sequential run would have.
      if (uniqueViolationIndex(error) !== null) throw PermissionErrors.appUidTaken();
      throw error;
    }
  }
}
