import type { AppClientEntity } from './entities/app-client.entity';
import type { AppEntity } from './entities/app.entity';
import type { PermDef } from './permission-snapshot';

export interface PermResponse {
  perm_id: number;
  uid: string;
  name: string;
  remark: string;
  scope: string;
  action: string;
  subject: string;
}

export interface OwnerResponse {
  uid: string;
  name: string;
  subject: string;
}

export function toPermResponse(perm: PermDef): PermResponse {
  return {
    perm_id: perm.id,
    uid: perm.uid,
    name: perm.name,
    remark: perm.remark,
    scope: perm.scope,
    action: perm.action,
    subject: perm.subject,
  };
}

/** Secrets are never read back: `client_secret` is filled only in the answer that generated it. */
function toClientResponse(client: AppClientEntity, freshSecret: string | undefined): Record<string, unknown> {
  return {
    client_id: client.clientId,
    client_secret: freshSecret ?? '',
    redirect_uris: client.redirectUris,
    client_type: client.clientType,
    [client.protocol === 'oauth' ? 'authorization_grant_type' : 'response_type']: client.flow,
    backchannel_logout_uri: client.backchannelLogoutUri,
    backchannel_logout_session_required: client.backchannelLogoutSessionRequired,
    skip_authorization: client.skipAuthorization,
  };
}

export function authProtocols(app: AppEntity, clients: readonly AppClientEntity[]): string[] {
  const protocols: string[] = [];
  if (clients.some((c) => c.protocol === 'oauth')) protocols.push('OAuth 2.0');
  if (clients.some((c) => c.protocol === 'oidc')) protocols.push('OpenID Connect');
  if (app.ldapEnabled) protocols.push('LDAP');
  if (app.httpEnabled) protocols.push('HTTP');
  return protocols;
}

/**
 * APP. Absent protocols are left out rather than sent as null (v1 never nests null). The read-only
 * `more_detail` parts (endpoints, LDAP base DNs) arrive with the servers that answer there.
 */
export function toAppResponse(
  app: AppEntity,
  clients: readonly AppClientEntity[],
  freshSecrets: ReadonlyMap<string, string> = new Map(),
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    app_id: app.id,
    uid: app.uid,
    name: app.name,
    index: app.indexUrl,
    logo: app.logo,
    remark: app.remark,
    allow_any_user: app.allowAnyUser,
    auth_protocols: authProtocols(app, clients),
  };
  for (const client of clients) {
    const key = client.protocol === 'oauth' ? 'oauth_app' : 'oidc_app';
    body[key] = toClientResponse(client, freshSecrets.get(client.protocol));
  }
  if (app.ldapEnabled) body.ldap_app = { more_detail: [] };
  if (app.httpEnabled) body.http_app = { more_detail: [] };
  return body;
}

export function toPublicAppResponse(
  app: AppEntity,
  clients: readonly AppClientEntity[],
): Record<string, unknown> {
  return {
    app_id: app.id,
    uid: app.uid,
    name: app.name,
    index: app.indexUrl,
    logo: app.logo,
    remark: app.remark,
    auth_protocols: authProtocols(app, clients),
  };
}
