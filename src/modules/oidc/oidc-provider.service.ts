import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import Provider, {
  type Configuration,
  errors,
  interactionPolicy,
  type AdapterPayload,
  type Grant,
  type KoaContextWithOIDC,
  type TokenEndpointGrantContext,
} from 'oidc-provider';
import type { Logger } from 'pino';
import { MasterKey } from '../../common/crypto/master-key';
import { ChangeStamps } from '../../common/database/change-stamps';
import { derivedKey } from '../../common/crypto/secret-box';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { DomainError } from '../../common/errors/domain-error';
import { isServiceOutage, OUTAGE_RETRY_AFTER_SECONDS } from '../../common/errors/service-outage';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { currentRequestFacts } from '../../common/logging/request-context';
import { UNMATCHED_ROUTE } from '../../common/metrics/http-metrics.middleware';
import { Metrics, OAUTH_GRANTS, type OAuthGrant } from '../../common/metrics/metrics.service';
import { AppConfig } from '../../config/app-config';
import { UserLifecycleHooks } from '../accounts/user-lifecycle.hooks';
import { AuthService } from '../auth/auth.service';
import { type BearerKeys, BearerKeysLink } from '../auth/bearer-keys.link';
import { sessionCookieName } from '../auth/session-cookie';
import { AppsService, clientSecretMatches } from '../permissions/apps.service';
import { CLAIMS_BY_SCOPE, OidcAccountsService } from './oidc-accounts.service';
import { ClientMetadataCache } from './oidc-client-cache';
import { API_READ_SCOPE, RESPONSE_TYPES, SCOPES, toClientMetadata } from './oidc-clients';
import { OidcPagesLink, type PageRequest } from './oidc-pages.link';
import { OIDC_STORAGE } from './oidc.tokens';
import type { OidcStorage } from './oidc-storage';
import { CookieSigner } from './cookie-signer';
import { type KeySet, SIGNING_ALG, SigningKeysService } from './signing-keys.service';
import { providerOutage, withOutagesReported } from './storage-outages';

const { Check, Prompt, base: basePolicy } = interactionPolicy;

const MOUNT = '/oauth';
/** The provider session's field naming the Arbor session (token row id) that signed it in. */
const ARBOR_SESSION = 'arborTokenId';
/** Paths under /oauth that Nest serves (ArkID's userinfo shape), not the provider. */
const NEST_PATHS = new Set(['/userinfo/']);
/** ArkID spellings of provider routes. */
const ALIASES: Record<string, string> = {
  '/.well-known/openid-configuration/': '/.well-known/openid-configuration',
  '/oidc/introspect/': '/introspect/',
};
const ROUTES = {
  authorization: '/authorize/',
  token: '/token/',
  revocation: '/revoke_token/',
  introspection: '/introspect/',
  userinfo: '/oidc/userinfo/',
  jwks: '/oidc/jwks/',
  end_session: '/session/end/',
} as const;
const AUTHORIZE_PATH = ROUTES.authorization;
/** The provider's fixed paths (its own suffixes of end_session included), for metrics labels. */
const PROVIDER_PATHS = new Set<string>([
  ...Object.values(ROUTES),
  `${ROUTES.end_session}confirm`,
  `${ROUTES.end_session}success`,
  '/.well-known/openid-configuration',
]);

const pathOf = (url: string): string => {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
};

export interface ArborClient {
  clientId: string;
  appUid: string;
  name: string;
  redirectUris: string[];
  /** `skip_authorization`: the provider grants what it asks for, no consent page. */
  firstParty: boolean;
}

/**
 * What an authorization request asks the user to grant, as the provider's consent prompt counts it:
 * OpenID scopes, claims of the `claims` parameter, and scopes per resource server (Arbor's API).
 */
export interface RequestedAccess {
  oidcScopes: string[];
  claims: string[];
  resourceScopes: Record<string, string[]>;
}

/** The login prompt's detail carrying the RequestedAccess, for the page that follows the sign-in. */
export const REQUESTED_DETAIL = 'arbor_requested';

/** Claims the consent prompt never asks for (they describe the sign-in, not the user). */
const UNCONSENTED_CLAIMS = new Set(['sub', 'sid', 'auth_time', 'acr', 'amr', 'iss']);

function requestedAccess(ctx: KoaContextWithOIDC): RequestedAccess {
  const { oidc } = ctx;
  const requestedScopes = [...oidc.requestParamScopes];
  const resourceScopes: Record<string, string[]> = {};
  for (const [indicator, server] of Object.entries(oidc.resourceServers ?? {})) {
    const scopes = requestedScopes.filter((scope) => server.scopes.has(scope));
    if (scopes.length > 0) resourceScopes[indicator] = scopes;
  }
  return {
    oidcScopes: [...oidc.requestParamOIDCScopes],
    claims: [...oidc.requestParamClaims].filter((claim) => !UNCONSENTED_CLAIMS.has(claim)),
    resourceScopes,
  };
}

/**
 * The OAuth 2.0 / OpenID Connect provider: panva's oidc-provider (OpenID Certified) mounted at /oauth,
 * with clients read live from the apps tables, users from accounts, access from the permission engine,
 * state in the database or Redis, and the key set from SigningKeysService. The provider is rebuilt
 * when the key set's stamp moves (a rotation on any replica), checked on every OAuth request.
 */
@Injectable()
export class OidcProviderService implements OnModuleInit, OnApplicationShutdown, BearerKeys {
  readonly issuer: string;
  /** The resource indicator (and JWT `aud`) of Arbor's own REST API. */
  readonly apiAudience: string;
  private provider: {
    keys: KeySet;
    instance: Provider;
    callback: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  } | null = null;
  private building: Promise<Provider> | null = null;
  private readonly cookieSigner: CookieSigner;
  private readonly pems = new Map<string, string>();
  private readonly clients = new ClientMetadataCache();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: SigningKeysService,
    private readonly apps: AppsService,
    private readonly accounts: OidcAccountsService,
    private readonly auth: AuthService,
    private readonly pages: OidcPagesLink,
    private readonly metrics: Metrics,
    private readonly bearerKeys: BearerKeysLink,
    private readonly userHooks: UserLifecycleHooks,
    private readonly tx: TransactionRunner,
    private readonly stamps: ChangeStamps,
    @Inject(OIDC_STORAGE) private readonly storage: OidcStorage,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    masterKey: MasterKey,
  ) {
    this.issuer = `${config.baseUrl}/oauth`;
    this.apiAudience = `${config.baseUrl}/siteapi/`;
    this.cookieSigner = new CookieSigner([derivedKey(masterKey.value, 'oidc-cookies').toString('base64url')]);
  }

  get audience(): string {
    return this.apiAudience;
  }

  async onModuleInit(): Promise<void> {
    // A new password, a disabled or a deleted account: its provider sessions, grants and tokens end with
    // its Arbor sessions, in the same transaction (single sign-out for credential changes). Once that
    // commits, the apps of those sessions get a back-channel logout as on a sign-out.
    this.userHooks.onCredentialsRevoked(async (manager, userId) => {
      const accountId = String(userId);
      const sessions = await this.storage.sessionsOf(manager, accountId);
      await this.storage.revokeAccount(manager, accountId);
      if (sessions.length > 0) {
        this.tx.afterCommit(manager, () => void this.backchannelLogout(accountId, sessions));
      }
    });
    // One Arbor session signed out (another device from the profile, or its token revoked): the provider
    // sessions it signed in end with it, with the grants and tokens issued through them.
    this.userHooks.onSessionEnded(async (manager, userId, tokenId) => {
      const accountId = String(userId);
      const sessions = (await this.storage.sessionsOf(manager, accountId)).filter(
        (session) => session[ARBOR_SESSION] === tokenId,
      );
      if (sessions.length === 0) return;
      await this.storage.endSessions(manager, sessions);
      this.tx.afterCommit(manager, () => void this.backchannelLogout(accountId, sessions));
    });
    await this.keys.ensureSigningKey();
    await this.current();
    this.bearerKeys.connect(this);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.storage.close();
  }

  /**
   * The provider for the current key set. The same read gives the apps stamp the client cache is
   * checked against: one small query per OAuth request for both.
   */
  async current(): Promise<Provider> {
    const stamps = await this.stamps.current(['oidc_keys', 'apps']);
    this.clients.observe(stamps.get('apps') ?? 0);
    const version = stamps.get('oidc_keys') ?? 0;
    if (this.provider && this.provider.keys.version >= version) return this.provider.instance;
    this.building ??= this.build().finally(() => {
      this.building = null;
    });
    return this.building;
  }

  /**
   * Whether a request belongs to the provider: every path under /oauth except those Nest serves. The
   * HTTP server hands these to `serve` before Express sees them (app.setup.ts).
   */
  owns(url: string): boolean {
    const path = pathOf(url);
    if (path !== MOUNT && !path.startsWith(`${MOUNT}/`)) return false;
    return !NEST_PATHS.has(path.slice(MOUNT.length));
  }

  /** The metrics label of a provider path: the route it names, never a raw id. */
  routeTemplate(url: string): string {
    const path = pathOf(url).slice(MOUNT.length);
    const route = ALIASES[path] ?? path;
    if (PROVIDER_PATHS.has(route)) return MOUNT + route;
    return route.startsWith(AUTHORIZE_PATH) ? `${MOUNT}${AUTHORIZE_PATH}:uid` : UNMATCHED_ROUTE;
  }

  /** Answers a request under /oauth, as mounted there (the provider finds its mount from originalUrl). */
  serve(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? MOUNT;
    let inner = url.slice(MOUNT.length) || '/';
    const path = pathOf(inner);
    const alias = ALIASES[path];
    if (alias) inner = alias + inner.slice(path.length);
    Object.assign(req, { originalUrl: url });
    req.url = inner;
    this.current().then(
      () => this.provider?.callback(req, res),
      (error: unknown) => {
        this.logger.error({ err: error }, 'OAuth provider unavailable');
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const outage = isServiceOutage(error);
        res.statusCode = outage ? 503 : 500;
        res.setHeader('Content-Type', 'application/json');
        if (outage) res.setHeader('Retry-After', String(OUTAGE_RETRY_AFTER_SECONDS));
        res.end(
          JSON.stringify({
            error: outage ? 'temporarily_unavailable' : 'server_error',
            error_description: 'the provider is unavailable',
          }),
        );
      },
    );
  }

  /** For Arbor API tokens: a verifying key of the current key set (a rotation is seen on the next call). */
  async publicKey(kid: string): Promise<string | null> {
    await this.current();
    const jwk = this.provider?.keys.keys.find((k) => k.kid === kid);
    if (!jwk) return null;
    let pem = this.pems.get(kid);
    if (!pem) {
      const publicJwk: JsonWebKey = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
      pem = createPublicKey({ key: publicJwk, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString();
      this.pems.set(kid, pem);
    }
    return pem;
  }

  async grantActive(grantId: string): Promise<boolean> {
    const provider = await this.current();
    return (await provider.Grant.find(grantId)) !== undefined;
  }

  /** The client behind a client_id, as the hosted pages show it. */
  async client(clientId: string): Promise<ArborClient | null> {
    // Callers have called current() earlier in the request, which moved the cache to the apps stamp.
    const metadata = await this.clientMetadata(clientId);
    if (!metadata) return null;
    return {
      clientId,
      appUid: metadata.arbor_app_uid as string,
      name: metadata.client_name as string,
      redirectUris: metadata.redirect_uris as string[],
      firstParty: metadata.arbor_skip_consent === true,
    };
  }

  /** A client's provider metadata: from the cache while the apps stamp stays, else from the apps tables. */
  private clientMetadata(clientId: string): Promise<AdapterPayload | undefined> {
    return this.clients.find(clientId, async () => {
      const found = await this.apps.findClient(clientId);
      return found ? toClientMetadata(found.app, found.client) : undefined;
    });
  }

  private async build(): Promise<Provider> {
    const keys = await this.keys.load();
    const instance = new Provider(this.issuer, this.configuration(keys));
    instance.proxy = this.config.trustProxy !== false;
    this.hashClientSecrets(instance);
    this.reuseClients(instance);
    this.linkSessions(instance);
    this.registerPasswordGrant(instance);
    this.observe(instance);
    this.provider = { keys, instance, callback: instance.callback() };
    return instance;
  }

  /** Stored secrets are SHA-256 hashes: compare the presented secret's hash, in constant time. */
  private hashClientSecrets(instance: Provider): void {
    instance.Client.prototype.compareClientSecret = function (this: { clientSecret?: string }, actual) {
      return this.clientSecret !== undefined && clientSecretMatches(this.clientSecret, actual);
    };
  }

  /**
   * A provider session keeps the id of the Arbor session that signed it in (set by the `arbor_session`
   * check), so signing that Arbor session out can end it and what it issued. The provider stores only
   * the fields its model lists.
   */
  private linkSessions(instance: Provider): void {
    const fields = instance.Session.IN_PAYLOAD;
    Object.defineProperty(instance.Session, 'IN_PAYLOAD', { get: () => [...fields, ARBOR_SESSION] });
  }

  /**
   * oidc-provider finds an adapter-backed client by the SHA-256 of its metadata's JSON, on every request.
   * The client cache hands back the same metadata object while the apps stamp holds, so the Client
   * built from that object is reused (about 20 µs of every token request).
   */
  private reuseClients(instance: Provider): void {
    type Client = InstanceType<Provider['Client']>;
    const built = new WeakMap<AdapterPayload, Client>();
    const find = instance.Client.find.bind(instance.Client);
    instance.Client.find = async (id: string): Promise<Client | undefined> => {
      if (typeof id !== 'string' || id === '') return find(id);
      const metadata = await this.clientMetadata(id);
      if (!metadata) return undefined;
      const reused = built.get(metadata);
      if (reused) return reused;
      const client = await find(id);
      if (client) built.set(metadata, client);
      return client;
    };
  }

  /**
   * A first-party app (`skip_authorization`) is granted what it asks for without a consent page, to a
   * user who may use it; for anyone else the access prompt refuses, and no grant is written.
   */
  private async grantFirstParty(
    ctx: KoaContextWithOIDC,
    found: Grant | undefined,
  ): Promise<Grant | undefined> {
    const { client, account, provider } = ctx.oidc;
    if (!client || !account) return found;
    const user = this.accounts.userBehind(account) ?? (await this.accounts.findUser(account.accountId));
    if (!user || !(await this.accounts.hasAccess(user, client.arbor_app_uid as string))) return found;
    const grant = found ?? new provider.Grant({ accountId: account.accountId, clientId: client.clientId });
    const changed = grantRequested(grant, requestedAccess(ctx)) || found === undefined;
    if (changed) await grant.save();
    return grant;
  }

  private configuration(keys: KeySet): Configuration {
    const { oidc } = this.config;
    const pageRequest = (ctx: KoaContextWithOIDC): PageRequest => ({
      acceptLanguage: ctx.get('accept-language'),
      cookie: ctx.get('cookie'),
      secure: ctx.secure,
    });
    const policy = basePolicy();
    const login = policy.get('login');
    if (login) {
      // The hosted page that takes the sign-in can then ask for consent at once (see WebController).
      const details = login.details;
      login.details = async (ctx) => ({ ...(await details(ctx)), [REQUESTED_DETAIL]: requestedAccess(ctx) });
    }
    login?.checks.add(
      new Check('arbor_session', 'the Arbor sign-in of this browser ended', async (ctx) => {
        const accountId = ctx.oidc.session?.accountId;
        if (!accountId) return Check.NO_NEED_TO_PROMPT;
        const key = ctx.cookies.get(sessionCookieName(ctx.secure));
        // findAccount read the session's user earlier in this request.
        const { account } = ctx.oidc;
        const session = key
          ? await this.auth.session(key, account && this.accounts.userBehind(account))
          : null;
        if (!session || String(session.user.id) !== accountId) return Check.REQUEST_PROMPT;
        const linked = ctx.oidc.session as unknown as Record<typeof ARBOR_SESSION, number | undefined>;
        if (linked[ARBOR_SESSION] !== session.tokenId) linked[ARBOR_SESSION] = session.tokenId;
        return Check.NO_NEED_TO_PROMPT;
      }),
    );
    policy.add(
      new Prompt(
        { name: 'access', requestable: false },
        new Check('app_access', 'the user may not use this app', 'access_denied', async (ctx) => {
          const { account, client } = ctx.oidc;
          if (!account || !client) return Check.NO_NEED_TO_PROMPT;
          // The account was loaded earlier in this request (findAccount): its user row is as fresh.
          const user = this.accounts.userBehind(account) ?? (await this.accounts.findUser(account.accountId));
          const appUid = client.arbor_app_uid as string;
          return user && (await this.accounts.hasAccess(user, appUid))
            ? Check.NO_NEED_TO_PROMPT
            : Check.REQUEST_PROMPT;
        }),
      ),
      1,
    );
    return {
      adapter: (name: string) =>
        withOutagesReported(
          name === 'Client' ? this.clientAdapter() : this.storage.adapterFor(name),
          name,
          this.logger,
        ),
      clients: [],
      findAccount: async (ctx, sub) => {
        const user = await this.accounts.findUser(sub);
        if (!user) return undefined;
        const client = ctx.oidc?.client;
        const appUid = client?.arbor_app_uid as string | undefined;
        // Tokens are worth only what the user may still do: every exchange, refresh and userinfo call
        // asks the permission engine again. The authorization endpoint asks through the access prompt.
        const route = ctx.oidc?.route;
        if (appUid !== undefined && route !== 'authorization' && route !== 'resume') {
          if (!(await this.accounts.hasAccess(user, appUid))) return undefined;
        }
        return this.accounts.account(user, appUid);
      },
      claims: Object.fromEntries(Object.entries(CLAIMS_BY_SCOPE).map(([k, v]) => [k, [...v]])),
      scopes: [...SCOPES, API_READ_SCOPE],
      responseTypes: [...RESPONSE_TYPES],
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
      clientDefaults: {
        grant_types: ['authorization_code'],
        id_token_signed_response_alg: SIGNING_ALG,
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      enabledJWA: {
        idTokenSigningAlgValues: [SIGNING_ALG],
        userinfoSigningAlgValues: [SIGNING_ALG],
        introspectionSigningAlgValues: [SIGNING_ALG],
        authorizationSigningAlgValues: [SIGNING_ALG],
      },
      extraClientMetadata: { properties: ['arbor_app_uid', 'arbor_skip_consent'] },
      allowOmittingSingleRegisteredRedirectUri: false,
      pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
      jwks: { keys: keys.keys },
      cookies: {
        names: providerCookieNames(this.config.baseUrl),
        keys: this.cookieSigner,
        long: { signed: true, httpOnly: true, sameSite: 'lax' },
        short: { signed: true, httpOnly: true, sameSite: 'lax' },
      },
      routes: { ...ROUTES },
      ttl: {
        AuthorizationCode: oidc.codeTtlSeconds,
        AccessToken: oidc.accessTokenTtlSeconds,
        ClientCredentials: oidc.accessTokenTtlSeconds,
        IdToken: oidc.idTokenTtlSeconds,
        RefreshToken: oidc.refreshTokenTtlSeconds,
        Grant: oidc.refreshTokenTtlSeconds,
        Interaction: 600,
        Session: this.config.tokens.absoluteTtlSeconds,
      },
      issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      // Every use of a refresh token spends it; presenting a spent one revokes its whole grant.
      rotateRefreshToken: true,
      interactions: {
        url: (_ctx, interaction) => `/interaction/${interaction.uid}/`,
        policy,
      },
      loadExistingGrant: async (ctx) => {
        const { client, session, account } = ctx.oidc;
        if (!client || !session) return undefined;
        // The grant consented to in this interaction, or earlier in this browser session.
        const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
        const grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
        return client.arbor_skip_consent === true && account ? this.grantFirstParty(ctx, grant) : grant;
      },
      // The provider fetches only back-channel logout URIs, which an Arbor admin registered (there is no
      // dynamic registration, request_uri or jwks_uri): apps on the company's private network and on
      // loopback must be reachable, so its special-use-address guard is dropped. Its 2.5 s timeout stays.
      fetch: (url, options) => {
        const unguarded: RequestInit & { dispatcher?: unknown } = { ...options };
        delete unguarded.dispatcher;
        return globalThis.fetch(url, unguarded);
      },
      features: {
        devInteractions: { enabled: false },
        // Ending a session POSTs a signed logout token to every client of it that registered a URI.
        backchannelLogout: { enabled: true },
        // An app may read only its own tokens.
        introspection: {
          enabled: true,
          allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
        },
        revocation: {
          enabled: true,
          allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
        },
        clientCredentials: { enabled: true },
        userinfo: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: async (ctx, form) => {
            (ctx.state as { arborPage?: boolean }).arborPage = true;
            const client = ctx.oidc.client;
            // The form's answer redirects to the app's post-logout URI: the policy must allow it.
            ctx.set(
              'Content-Security-Policy',
              this.pages.pages.contentSecurityPolicy(client?.postLogoutRedirectUris ?? []),
            );
            ctx.type = 'html';
            ctx.body = await this.pages.pages.logout(
              pageRequest(ctx),
              form,
              'op.logoutForm',
              client?.clientName,
            );
          },
          postLogoutSuccessSource: async (ctx) => {
            ctx.set('Content-Security-Policy', this.pages.pages.contentSecurityPolicy([]));
            ctx.type = 'html';
            ctx.body = await this.pages.pages.loggedOut(pageRequest(ctx), ctx.oidc.client?.clientName);
          },
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: (_ctx, _client, oneOf) => oneOf?.[0],
          useGrantedResource: () => false,
          getResourceServerInfo: (_ctx, resourceIndicator) => {
            if (resourceIndicator !== this.apiAudience) throw new errors.InvalidTarget();
            return {
              scope: API_READ_SCOPE,
              audience: this.apiAudience,
              accessTokenFormat: 'jwt',
              accessTokenTTL: oidc.accessTokenTtlSeconds,
              jwt: { sign: { alg: SIGNING_ALG } },
            };
          },
        },
      },
      // Arbor API tokens carry their grant, so the API refuses them once the grant is revoked.
      extraTokenClaims: (_ctx, token) =>
        token.resourceServer?.audience === this.apiAudience && 'grantId' in token && token.grantId
          ? { gid: token.grantId }
          : undefined,
      clientBasedCORS: (_ctx, origin, client) =>
        client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false,
      renderError: async (ctx, out, error) => {
        const outage = providerOutage(error);
        if (outage !== error && outage instanceof errors.OIDCProviderError) {
          // An outage met in Arbor's own hooks (an account or permission lookup), not in the storage.
          ctx.status = 503;
          out = { error: outage.error, error_description: outage.error_description };
        }
        ctx.set('Content-Security-Policy', this.pages.pages.contentSecurityPolicy([]));
        ctx.type = 'html';
        ctx.body = await this.pages.pages.error(pageRequest(ctx), out);
      },
    };
  }

  /**
   * oidc-provider's Client model reads through this: the apps tables, cached until the apps stamp read
   * at the start of the request (see current) moves, so an edit applies from the next request on.
   */
  private clientAdapter() {
    const unsupported = () => Promise.reject(new Error('clients are managed through the apps API'));
    return {
      find: (id: string) => this.clientMetadata(id),
      upsert: unsupported,
      findByUid: unsupported,
      findByUserCode: unsupported,
      consume: unsupported,
      destroy: unsupported,
      revokeByGrantId: () => Promise.resolve(),
    };
  }

  /**
   * ArkID's password grant, for apps that opted in: the same credential checks as the login form
   * (per-IP limit, throttle, lockout, audit), then the permission engine, then a provider-issued
   * access token under a new grant.
   */
  private registerPasswordGrant(instance: Provider): void {
    instance.registerGrantType(
      'password',
      async (ctx: TokenEndpointGrantContext<{ username?: string; password?: string; scope?: string }>) => {
        const { username, password } = ctx.oidc.params;
        const client = ctx.oidc.client;
        if (!username || !password) throw new errors.InvalidRequest('username and password are required');
        let user;
        try {
          user = await this.auth.verifyCredentials(
            { username, password },
            // The address by TRUST_PROXY, as every other sign-in sees it (koa's ctx.ip believes the
            // first X-Forwarded-For entry, which the client writes).
            { ip: currentRequestFacts()?.ip ?? ctx.ip, userAgent: ctx.get('user-agent') },
          );
        } catch (error) {
          if (error instanceof DomainError) throw new errors.InvalidGrant('invalid credentials');
          throw error;
        }
        if (!(await this.accounts.hasAccess(user, client.arbor_app_uid as string))) {
          throw new errors.InvalidGrant('the user may not use this app');
        }
        const requested = String(ctx.oidc.params.scope ?? '')
          .split(' ')
          .filter(
            (s) => s !== '' && s !== 'openid' && s !== API_READ_SCOPE && client.scope?.split(' ').includes(s),
          );
        const grant = new instance.Grant({ accountId: String(user.id), clientId: client.clientId });
        if (requested.length > 0) grant.addOIDCScope(requested.join(' '));
        const grantId = await grant.save();
        const token = new instance.AccessToken({
          accountId: String(user.id),
          client,
          grantId,
          gty: 'password',
          scope: requested.join(' ') || undefined,
        });
        ctx.oidc.entity('AccessToken', token);
        const value = await token.save();
        ctx.body = {
          access_token: value,
          expires_in: token.expiration,
          token_type: 'Bearer',
          scope: requested.join(' '),
        };
        this.metrics.oauthTokenIssued('password');
      },
      ['username', 'password', 'scope'],
    );
  }

  /**
   * Without a provider session (signed in to Arbor's pages only) the provider answers end_session with
   * a page that submits itself by inline script; the hosted pages allow no script, and a sign-out
   * should be confirmed anyway. So that case gets the same confirmation page, with the provider's own
   * form and xsrf value.
   */
  private async confirmLogout(ctx: KoaContextWithOIDC): Promise<void> {
    if ((ctx.state as { arborPage?: boolean }).arborPage) return;
    const secret = (ctx.oidc.session as unknown as { state?: { secret?: unknown } } | undefined)?.state
      ?.secret;
    if (typeof secret !== 'string' || !/^[0-9a-f]+$/.test(secret)) return;
    const action = ctx.oidc.urlFor('end_session_confirm');
    const form = `<form id="op.logoutForm" method="post" action="${action.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)}"><input type="hidden" name="xsrf" value="${secret}"></form>`;
    const client = ctx.oidc.client;
    ctx.set(
      'Content-Security-Policy',
      this.pages.pages.contentSecurityPolicy(client?.postLogoutRedirectUris ?? []),
    );
    ctx.type = 'html';
    ctx.body = await this.pages.pages.logout(
      { acceptLanguage: ctx.get('accept-language'), cookie: ctx.get('cookie'), secure: ctx.secure },
      form,
      'op.logoutForm',
      client?.clientName,
    );
  }

  /**
   * The provider's own back-channel logout (the one end_session sends) for every app of these sessions,
   * with each session's sid. Failures are logged as on a sign-out; they do not undo the revocation.
   */
  private async backchannelLogout(accountId: string, sessions: AdapterPayload[]): Promise<void> {
    const notices = sessions.flatMap((session) =>
      Object.entries(session.authorizations ?? {}).map(([clientId, { sid }]) => ({ clientId, sid })),
    );
    try {
      const provider = await this.current();
      await Promise.all(
        notices.map(async ({ clientId, sid }) => {
          try {
            const client = (await provider.Client.find(clientId)) as
              | (InstanceType<Provider['Client']> & {
                  backchannelLogout(sub: string, sid: string | undefined): Promise<void>;
                })
              | undefined;
            if (client?.backchannelLogoutUri) await client.backchannelLogout(accountId, sid);
          } catch (error) {
            this.logger.warn({ err: error, clientId }, 'back-channel logout failed');
          }
        }),
      );
    } catch (error) {
      this.logger.error({ err: error }, 'back-channel logout after revocation failed');
    }
  }

  private observe(instance: Provider): void {
    instance.on('grant.success', (ctx: KoaContextWithOIDC) => {
      const grantType = ctx.oidc.params?.grant_type;
      const grant = typeof grantType === 'string' ? grantType : '';
      if (grant !== 'password' && (OAUTH_GRANTS as readonly string[]).includes(grant)) {
        this.metrics.oauthTokenIssued(grant as OAuthGrant);
      }
    });
    instance.on('authorization.success', (_ctx, out) => {
      if (out?.access_token !== undefined) this.metrics.oauthTokenIssued('implicit');
    });
    instance.on('backchannel.error', (_ctx, error: Error, client: { clientId: string }) => {
      this.logger.warn({ err: error, clientId: client.clientId }, 'back-channel logout failed');
    });
    instance.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => {
      this.logger.error({ err: error, path: ctx.path }, 'OAuth provider error');
      const outage = providerOutage(error);
      // JSON answers (the HTML ones went through renderError): an outage in Arbor's own hooks.
      if (outage !== error && outage instanceof errors.OIDCProviderError && ctx.status !== 503) {
        if (typeof ctx.body === 'object' && ctx.body !== null && 'error' in ctx.body) {
          ctx.status = 503;
          ctx.body = { error: outage.error, error_description: outage.error_description };
        }
      }
    });
    instance.use(async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => {
      await next();
      if (ctx.status === 503) ctx.set('Retry-After', String(OUTAGE_RETRY_AFTER_SECONDS));
      const oidc = ctx.oidc as KoaContextWithOIDC['oidc'] | undefined;
      if (oidc?.route === 'end_session' && ctx.status === 200) await this.confirmLogout(ctx);
      // Single sign-out: confirming the provider's sign-out also ends the browser's Arbor session.
      if (oidc?.route !== 'end_session_confirm' || ctx.status >= 400) return;
      if (!(oidc.params as { logout?: string } | undefined)?.logout) return;
      // The provider keeps offline_access grants past a sign-out; Arbor's ends everything the session
      // issued (the session object still lists its grants).
      const ended = oidc.session as unknown as AdapterPayload | undefined;
      if (ended) await this.tx.run((manager) => this.storage.endSessions(manager, [ended]));
      const name = sessionCookieName(ctx.secure);
      const key = ctx.cookies.get(name);
      if (key) await this.auth.endSession(key);
      ctx.cookies.set(name, null, { path: '/', httpOnly: true, sameSite: 'lax', secure: ctx.secure });
    });
  }
}

/**
 * The provider's own cookies, named once for the deployment: under an https BASE_URL the session
 * cookie (Path=/) takes the `__Host-` prefix and the interaction cookies, scoped to their own paths,
 * `__Secure-`; browsers then accept them only over TLS. The provider marks them Secure itself there.
 */
function providerCookieNames(baseUrl: string): { session: string; interaction: string; resume: string } {
  const tls = baseUrl.startsWith('https://');
  return {
    session: tls ? '__Host-_session' : '_session',
    interaction: tls ? '__Secure-_interaction' : '_interaction',
    resume: tls ? '__Secure-_interaction_resume' : '_interaction_resume',
  };
}

/**
 * Adds to a grant whatever of `requested` it does not hold yet; whether anything was added. The
 * consent page's approval and a first-party app's implicit one both grant this way.
 */
export function grantRequested(grant: Grant, requested: RequestedAccess): boolean {
  const missing = (wanted: string[], held: Iterable<string>): string[] => {
    const have = new Set(held);
    return wanted.filter((item) => !have.has(item));
  };
  let changed = false;
  const scopes = missing(requested.oidcScopes, grant.getOIDCScopeEncountered().split(' '));
  if (scopes.length > 0) grant.addOIDCScope(scopes.join(' '));
  const claims = missing(requested.claims, grant.getOIDCClaimsEncountered());
  if (claims.length > 0) grant.addOIDCClaims(claims);
  changed ||= scopes.length > 0 || claims.length > 0;
  for (const [indicator, wanted] of Object.entries(requested.resourceScopes)) {
    const add = missing(wanted, grant.getResourceScopeEncountered(indicator).split(' '));
    if (add.length > 0) grant.addResourceScope(indicator, add.join(' '));
    changed ||= add.length > 0;
  }
  return changed;
}
