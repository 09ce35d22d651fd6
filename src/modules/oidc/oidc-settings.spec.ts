import { AppConfig } from '../../config/app-config';
import { ConfigValidationError, validateEnvironment } from '../../config/config.schema';

describe('OAuth provider settings', () => {
  it('defaults to an hour of access, ten minutes of id_token, 60 s codes and 30 days of refresh', () => {
    const config = new AppConfig(validateEnvironment({}));
    expect(config.oidc).toEqual({
      accessTokenTtlSeconds: 3600,
      idTokenTtlSeconds: 600,
      codeTtlSeconds: 60,
      refreshTokenTtlSeconds: 30 * 86400,
    });
    expect(config.secretKey).toEqual({ value: undefined, file: 'data/secret.key' });
    const docker = new AppConfig(validateEnvironment({ SQLITE_PATH: '/data/arbor.sqlite' }));
    expect(docker.secretKey.file).toBe('/data/secret.key');
    expect(new AppConfig(validateEnvironment({ SECRET_KEY_FILE: '/run/k' })).secretKey.file).toBe('/run/k');
  });

  it('refuses codes living longer than 60 s and short master keys', () => {
    expect(() => validateEnvironment({ OIDC_CODE_TTL_SECONDS: '61' })).toThrow(ConfigValidationError);
    expect(() => validateEnvironment({ SECRET_KEY: 'too-short' })).toThrow(/SECRET_KEY/);
    expect(new AppConfig(validateEnvironment({ SECRET_KEY: 'k'.repeat(32) })).secretKey.value).toBe(
      'k'.repeat(32),
    );
  });
});
