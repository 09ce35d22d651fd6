import { ConfigValidationError, validateEnvironment } from './config.schema';
import { AppConfig } from './app-config';

describe('validateEnvironment', () => {
  it('applies documented defaults to an empty environment', () => {
    const config = new AppConfig(validateEnvironment({}));
    expect(config.port).toBe(8000);
    expect(config.database).toEqual({ kind: 'sqlite', path: './data/arbor.sqlite' });
    expect(config.trustProxy).toBe(false);
    expect(config.login.lockoutThreshold).toBe(10);
  });

  it('selects MySQL from DATABASE_URL and parses trust proxy lists', () => {
    const config = new AppConfig(
      validateEnvironment({
        DATABASE_URL: 'mysql://u:p@127.0.0.1:3306/arbor',
        TRUST_PROXY: 'loopback, 10.0.0.0/8',
      }),
    );
    expect(config.database).toEqual({ kind: 'mysql', url: 'mysql://u:p@127.0.0.1:3306/arbor', poolSize: 10 });
    expect(config.trustProxy).toEqual(['loopback', '10.0.0.0/8']);
  });

  it('names every bad variable', () => {
    try {
      validateEnvironment({ PORT: 'eighty', DATABASE_URL: 'postgres://x', LOGIN_LOCKOUT_THRESHOLD: '500' });
      throw new Error('expected a validation error');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigValidationError);
      const message = (error as Error).message;
      expect(message).toContain('PORT');
      expect(message).toContain('DATABASE_URL');
      expect(message).toContain('LOGIN_LOCKOUT_THRESHOLD');
    }
  });

  it('rejects an absolute token lifetime shorter than the idle one', () => {
    expect(() =>
      validateEnvironment({ TOKEN_IDLE_TTL_SECONDS: '7200', TOKEN_ABSOLUTE_TTL_SECONDS: '3600' }),
    ).toThrow(/TOKEN_ABSOLUTE_TTL_SECONDS/);
  });
});
