import type { AdapterPayload, ClientMetadata, ResponseType } from 'oidc-provider';
import { isImplicitFlow } from '../permissions/client-uris';
import type { AppClientEntity } from '../permissions/entities/app-client.entity';
import type { AppEntity } from '../permissions/entities/app.entity';

/** Scopes every client may ask for; each is granted only as far as the user consents and holds access. */
export const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'phone', 'groups', 'perms'] as const;
/** The scope of access tokens for Arbor's own REST API: reads only. */
export const API_READ_SCOPE = 'arbor.read';
/** Response types the provider knows; each client is allowed only those its app asks for. */
export const RESPONSE_TYPES = [
  'code',
  'id_token',
  'id_token token',
  'code id_token',
  'code token',
  'code id_token token',
] as const;

/**
 * An app's client as oidc-provider client metadata, derived on every request from the apps tables, so an
 * edit applies at once. Authorization code (with refresh tokens) is every client's grant, and client
 * credentials every confidential one's. Implicit (id_token response types: the provider has no bare
 * `token` response) and password are ArkID compatibility, allowed only for the app whose
 * `authorization_grant_type` or OIDC `response_type` asks for them. The stored client_secret is the
 * secret's SHA-256; the provider compares against it through the hash (see OidcProviderService).
 */
export function toClientMetadata(app: AppEntity, client: AppClientEntity): AdapterPayload {
  const confidential = client.clientType === 'confidential';
  const grantTypes = new Set(['authorization_code', 'refresh_token']);
  const responseTypes = new Set<ResponseType>(['code']);
  if (confidential) grantTypes.add('client_credentials');
  if (isImplicitFlow(client.protocol, client.flow)) {
    grantTypes.add('implicit');
    if (client.protocol === 'oauth') {
      responseTypes.add('id_token token');
      responseTypes.add('id_token');
    } else if ((RESPONSE_TYPES as readonly string[]).includes(client.flow)) {
      responseTypes.add(client.flow as ResponseType);
    }
  }
  if (client.protocol === 'oauth' && client.flow === 'password') grantTypes.add('password');
  const redirectUris = client.redirectUris.split(' ').filter(Boolean);
  const metadata: ClientMetadata = {
    client_id: client.clientId,
    client_name: app.name,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: redirectUris,
    grant_types: [...grantTypes],
    response_types: redirectUris.length > 0 ? [...responseTypes] : [],
    token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
    id_token_signed_response_alg: 'ES256',
    scope: [...SCOPES, API_READ_SCOPE].join(' '),
    arbor_app_uid: app.uid,
    arbor_skip_consent: client.skipAuthorization,
  };
  if (client.backchannelLogoutUri) {
    metadata.backchannel_logout_uri = client.backchannelLogoutUri;
    metadata.backchannel_logout_session_required = client.backchannelLogoutSessionRequired;
  }
  if (confidential) metadata.client_secret = client.clientSecretHash;
  if (/^https?:\/\//.test(app.indexUrl)) metadata.client_uri = app.indexUrl;
  if (/^https:\/\//.test(app.logo)) metadata.logo_uri = app.logo;
  return metadata;
}
