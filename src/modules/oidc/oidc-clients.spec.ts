import type { AppClientEntity } from '../permissions/entities/app-client.entity';
import type { AppEntity } from '../permissions/entities/app.entity';
import { toClientMetadata } from './oidc-clients';

const app = { uid: 'wiki', name: 'Wiki', indexUrl: 'https://wiki.example', logo: '' } as AppEntity;
const client = (fields: Partial<AppClientEntity>): AppClientEntity =>
  ({
    protocol: 'oauth',
    clientId: 'c1',
    clientSecretHash: 'ab'.repeat(32),
    redirectUris: 'https://wiki.example/cb https://wiki.example/cb2',
    clientType: 'confidential',
    flow: 'authorization-code',
    skipAuthorization: false,
    ...fields,
  }) as AppClientEntity;

describe('toClientMetadata', () => {
  it('gives confidential clients code, refresh and client credentials, authenticated by the secret hash', () => {
    const metadata = toClientMetadata(app, client({}));
    expect(metadata).toMatchObject({
      client_id: 'c1',
      client_secret: 'ab'.repeat(32),
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: ['https://wiki.example/cb', 'https://wiki.example/cb2'],
      post_logout_redirect_uris: ['https://wiki.example/cb', 'https://wiki.example/cb2'],
      arbor_app_uid: 'wiki',
      arbor_skip_consent: false,
      client_uri: 'https://wiki.example',
    });
    expect(toClientMetadata(app, client({ skipAuthorization: true })).arbor_skip_consent).toBe(true);
  });

  it('gives public clients no secret and no client credentials', () => {
    const metadata = toClientMetadata(app, client({ clientType: 'public' }));
    expect(metadata.client_secret).toBeUndefined();
    expect(metadata.token_endpoint_auth_method).toBe('none');
    expect(metadata.grant_types).toEqual(['authorization_code', 'refresh_token']);
  });

  it('allows implicit and password only when the app asks for them', () => {
    expect(toClientMetadata(app, client({ flow: 'implicit' }))).toMatchObject({
      grant_types: expect.arrayContaining(['implicit']) as unknown,
      response_types: ['code', 'id_token token', 'id_token'],
    });
    expect(toClientMetadata(app, client({ flow: 'password' })).grant_types).toContain('password');
    expect(toClientMetadata(app, client({})).grant_types).not.toContain('password');
    expect(toClientMetadata(app, client({ protocol: 'oidc', flow: 'code id_token' }))).toMatchObject({
      response_types: ['code', 'code id_token'],
      grant_types: expect.arrayContaining(['implicit']) as unknown,
    });
    expect(toClientMetadata(app, client({ protocol: 'oidc', flow: 'code' })).grant_types).not.toContain(
      'implicit',
    );
  });

  it('registers no response type for a client without redirect URIs', () => {
    expect(toClientMetadata(app, client({ redirectUris: '' })).response_types).toEqual([]);
  });

  it('passes a back-channel logout URI, and whether it needs sid, only when one is registered', () => {
    expect(
      toClientMetadata(app, client({ backchannelLogoutUri: '' })).backchannel_logout_uri,
    ).toBeUndefined();
    const metadata = toClientMetadata(
      app,
      client({ backchannelLogoutUri: 'https://wiki.example/bc', backchannelLogoutSessionRequired: true }),
    );
    expect(metadata).toMatchObject({
      backchannel_logout_uri: 'https://wiki.example/bc',
      backchannel_logout_session_required: true,
    });
  });
});
