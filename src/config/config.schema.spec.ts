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

  it('reads the metrics and shutdown settings, off and 25 s by default', () => {
    expect(new AppConfig(validateEnvironment({})).metrics).toEqual({
      enabled: false,
      token: undefined,
      workerPort: 9464,
    });
    expect(new AppConfig(validateEnvironment({})).shutdownTimeoutMs).toBe(25000);
    const config = new AppConfig(
      validateEnvironment({
        METRICS_ENABLED: 'true',
        METRICS_TOKEN: 'a-long-enough-token',
        SHUTDOWN_TIMEOUT_SECONDS: '5',
        WORKER_METRICS_PORT: '9100',
      }),
    );
    expect(config.metrics).toEqual({ enabled: true, token: 'a-long-enough-token', workerPort: 9100 });
    expect(config.shutdownTimeoutMs).toBe(5000);
  });

  it('rejects a short metrics token and an unbounded shutdown', () => {
    expect(() => validateEnvironment({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    expect(() => validateEnvironment({ SHUTDOWN_TIMEOUT_SECONDS: '0' })).toThrow(/SHUTDOWN_TIMEOUT_SECONDS/);
    expect(() => validateEnvironment({ METRICS_ENABLED: 'maybe' })).toThrow(/METRICS_ENABLED/);
  });

  it('rejects an absolute token lifetime shorter than the idle one', () => {
    expect(() =>
      validateEnvironment({ TOKEN_IDLE_TTL_SECONDS: '7200', TOKEN_ABSOLUTE_TTL_SECONDS: '3600' }),
    ).toThrow(/TOKEN_ABSOLUTE_TTL_SECONDS/);
  });
});
