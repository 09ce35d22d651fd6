import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { type ClientMetadata, type JWK } from 'oidc-provider';

/**
 * The oauth scenario's baseline, run as its own process: a bare oidc-provider (the version Arbor uses)
 * on plain node http, with its in-memory adapter, one static client with the metadata Arbor derives for
 * the bench app (passed as JSON in argv, the plain secret in place of its hash), and the provider options
 * Arbor sets that shape the measured work (token TTLs, refresh rotation, introspection, client
 * credentials, resource indicators, ES256). No Nest, no database, no permission engine, no audit.
 * Interactions finish at once for account "1" (what a login form and a consent page end with), so the
 * bench drives the same authorization-code flow here as against Arbor. Prints `{"port": n}` when listening.
 */

const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'phone', 'groups', 'perms', 'arbor.read'];

async function main(): Promise<void> {
  const client = JSON.parse(process.argv[2] ?? '') as ClientMetadata;
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'bench', alg: 'ES256', use: 'sig' };
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no port');
  const issuer = `http://127.0.0.1:${address.port}/oauth`;
  const audience = `http://127.0.0.1:${address.port}/siteapi/`;
  const provider = new Provider(issuer, {
    clients: [client],
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'picture', 'updated_at'] },
    scopes: SCOPES,
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
    jwks: { keys: [jwk] },
    cookies: { keys: ['bare-bench-cookie-key'] },
    pkce: { required: (_ctx, c) => c.clientAuthMethod === 'none' },
    routes: {
      authorization: '/authorize/',
      token: '/token/',
      revocation: '/revoke_token/',
      introspection: '/introspect/',
      userinfo: '/oidc/userinfo/',
      jwks: '/oidc/jwks/',
      end_session: '/session/end/',
    },
    ttl: {
      AuthorizationCode: 60,
      AccessToken: 3600,
      ClientCredentials: 3600,
      IdToken: 600,
      RefreshToken: 30 * 86400,
      Grant: 30 * 86400,
      Interaction: 600,
      Session: 30 * 86400,
    },
    issueRefreshToken: (_ctx, c) => c.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}/` },
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true, allowedPolicy: (_ctx, c, token) => token.clientId === c.clientId },
      revocation: { enabled: true, allowedPolicy: (_ctx, c, token) => token.clientId === c.clientId },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _c, oneOf) => oneOf?.[0],
        useGrantedResource: () => false,
        getResourceServerInfo: () => ({
          scope: 'arbor.read',
          audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/oauth/')) {
      // As an express mount does: the provider finds its mount path from originalUrl.
      Object.assign(req, { originalUrl: url });
      req.url = url.slice('/oauth'.length);
      void callback(req, res);
      return;
    }
    if (!url.startsWith('/interaction/')) {
      res.statusCode = 404;
      res.end();
      return;
    }
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        await provider.interactionFinished(req, res, { login: { accountId: '1' } });
        return;
      }
      const missing = details.prompt.details as { missingOIDCScope?: string[] };
      const grant = new provider.Grant({ accountId: '1', clientId: String(details.params.client_id) });
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
    })().catch((error: unknown) => {
      console.error(error);
      res.statusCode = 500;
      res.end();
    });
  });
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
