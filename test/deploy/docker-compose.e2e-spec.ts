import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateEnvironment } from '../../src/config/config.schema';
import { arborSettingNames } from './arbor-settings';

const ROOT = join(__dirname, '..', '..');
const DIR = join(ROOT, 'docker-compose');

interface Service {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string[];
  restart?: string;
  profiles?: string[];
  environment?: Record<string, unknown>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: {
    test: string[];
    interval?: string;
    timeout?: string;
    retries?: number;
    start_period?: string;
  };
  volumes?: string[];
  ports?: string[];
  stop_grace_period?: string;
  [key: string]: unknown;
}

const SERVICE_KEYS = [
  'image',
  'build',
  'command',
  'restart',
  'profiles',
  'environment',
  'depends_on',
  'healthcheck',
  'volumes',
  'ports',
  'read_only',
  'tmpfs',
  'security_opt',
  'cap_drop',
  'stop_grace_period',
];
const DURATION = /^[0-9]+(ms|s|m|h)$/;

/** The .env example as compose reads a .env file: KEY=value lines, comments and blanks skipped. */
function readEnvFile(path: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) values[match[1]] = match[2];
  }
  return values;
}

/** Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $$. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (_whole, name?: string, colon?: string, op?: string, arg?: string) => {
      if (!name) return '$';
      const value = env[name];
      const missing = value === undefined || (colon === ':' && value === '');
      if (op === '?' && missing) throw new Error(`${name}: ${arg}`);
      if (op === '-' && missing) return arg ?? '';
      return value ?? '';
    },
  );
}

function interpolateValues(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((item) => interpolateValues(item, env));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateValues(v, env)]));
  }
  return value;
}

/**
 * docker-compose/docker-compose.yml, checked without a Docker engine: its structure, health checks and
 * start order, and that the settings it gives Arbor are ones Arbor reads and accepts.
 */
describe('docker-compose/docker-compose.yml', () => {
  const text = readFileSync(join(DIR, 'docker-compose.yml'), 'utf8');
  const example = readEnvFile(join(DIR, '.env.example'));
  const compose = parse(text, { merge: true, uniqueKeys: true, strict: true }) as {
    name: string;
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };
  // Compose interpolates the parsed values (so "${X:-false}" stays a string), not the file's text.
  const resolved = interpolateValues(compose, example) as typeof compose;
  const services = compose.services;
  const isArbor = (s: Service) => typeof s.build === 'object' && s.build.context === '..';

  it('has the production-like stack, each service with an image or a build and known keys only', () => {
    expect(
      Object.keys(compose)
        .filter((k) => !k.startsWith('x-'))
        .sort(),
    ).toEqual(['name', 'services', 'volumes']);
    expect(Object.keys(services).sort()).toEqual(['api', 'migrate', 'minio', 'mysql', 'redis', 'worker']);
    for (const [name, service] of Object.entries(services)) {
      expect([name, Object.keys(service).filter((k) => !SERVICE_KEYS.includes(k))]).toEqual([name, []]);
      expect([name, typeof service.image === 'string' || service.build !== undefined]).toEqual([name, true]);
      if (service.restart !== undefined)
        expect(['no', 'always', 'on-failure', 'unless-stopped']).toContain(service.restart);
      if (service.command !== undefined)
        expect(Array.isArray(service.command) && service.command.every((c) => typeof c === 'string')).toBe(
          true,
        );
    }
    // One image for every Arbor process, built from the repository's Dockerfile.
    const arbor = Object.entries(services).filter(([, s]) => isArbor(s));
    expect(arbor.map(([n]) => n).sort()).toEqual(['api', 'migrate', 'worker']);
    expect(new Set(arbor.map(([, s]) => s.image)).size).toBe(1);
    expect(existsSync(join(DIR, '..', 'Dockerfile'))).toBe(true);
  });

  it('health-checks every long-running service', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.restart === 'no') continue;
      if (name === 'worker') continue; // no HTTP listener; compose restarts it when it exits
      const check = service.healthcheck;
      expect([name, check !== undefined]).toEqual([name, true]);
      if (!check) continue;
      expect(['CMD', 'CMD-SHELL']).toContain(check.test[0]);
      expect(check.test.length).toBeGreaterThan(1);
      for (const key of ['interval', 'timeout', 'start_period'] as const)
        expect([name, key, DURATION.test(check[key] ?? '')]).toEqual([name, key, true]);
      expect(Number.isInteger(check.retries)).toBe(true);
    }
    expect(services.api.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:8000/ready/');
  });

  it('starts services in order: the database healthy, then migrations done, then Arbor', () => {
    const conditions = ['service_started', 'service_healthy', 'service_completed_successfully'];
    for (const [name, service] of Object.entries(services)) {
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect([name, target, target in services]).toEqual([name, target, true]);
        expect(conditions).toContain(condition);
        if (condition === 'service_healthy')
          expect([target, services[target].healthcheck !== undefined]).toEqual([target, true]);
        if (condition === 'service_completed_successfully')
          expect([target, services[target].restart]).toEqual([target, 'no']);
        // A service that always starts cannot wait for one that only starts with a profile.
        if (!service.profiles)
          expect([name, target, services[target].profiles]).toEqual([name, target, undefined]);
      }
    }
    expect(services.migrate.depends_on).toEqual({ mysql: { condition: 'service_healthy' } });
    expect(services.api.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    expect(services.api.depends_on?.redis).toEqual({ condition: 'service_healthy' });
  });

  it('declares every named volume it mounts, and mounts every one it declares', () => {
    const used = new Set<string>();
    for (const service of Object.values(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (!source.startsWith('.') && !source.startsWith('/')) used.add(source);
      }
    }
    expect([...used].sort()).toEqual(Object.keys(compose.volumes).sort());
    expect(services.mysql.volumes).toContain('mysql-data:/var/lib/mysql');
    expect(services.redis.volumes).toContain('redis-data:/data');
  });

  it('runs the API, the migrations and the worker from the built entry points', () => {
    expect(services.api.command).toEqual(['node', 'dist/main.js']);
    expect(services.migrate.command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(services.worker.command).toEqual(['node', 'dist/worker.js']);
    for (const entry of ['main', 'cli']) expect(existsSync(join(ROOT, 'src', `${entry}.ts`))).toBe(true);
    // The worker is part of the default stack now that the image has dist/worker.js.
    expect(existsSync(join(ROOT, 'src', 'worker.ts'))).toBe(true);
    expect(services.worker.profiles).toBeUndefined();
    expect(services.minio.profiles).toEqual(['storage']);
  });

  it('uses only variables the .env example sets, and the example sets only variables it uses', () => {
    const referenced = new Set([...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
    expect([...referenced].filter((name) => !(name in example))).toEqual([]);
    expect(Object.keys(example).filter((name) => !referenced.has(name))).toEqual([]);
    for (const [, name] of text.matchAll(/\$\{([A-Z_][A-Z0-9_]*):\?/g))
      expect([name, example[name] !== '']).toEqual([name, true]);
    expect(() => interpolate(text, {})).toThrow(/MYSQL_PASSWORD: set MYSQL_PASSWORD in \.env/);
  });

  it('gives Arbor only settings Arbor reads, which it accepts at boot', () => {
    const known = arborSettingNames();
    for (const [name, service] of Object.entries(resolved.services)) {
      if (!isArbor(services[name])) continue;
      const env = service.environment ?? {};
      expect([name, Object.keys(env).filter((key) => !known.has(key))]).toEqual([name, []]);
      // Compose wants strings here; an unquoted true or 10 in YAML would not be one.
      expect([
        name,
        Object.entries(services[name].environment ?? {}).filter(([, v]) => typeof v !== 'string'),
      ]).toEqual([name, []]);
      expect(() => validateEnvironment(env as Record<string, string>)).not.toThrow();
    }
  });

  it('connects Arbor to the MySQL and Redis it starts, with their credentials', () => {
    const env = resolved.services.api.environment as Record<string, string>;
    const mysql = resolved.services.mysql.environment as Record<string, string>;
    expect(env.DATABASE_URL).toBe(
      `mysql://${mysql.MYSQL_USER}:${mysql.MYSQL_PASSWORD}@mysql:3306/${mysql.MYSQL_DATABASE}`,
    );
    const redis = resolved.services.redis.command ?? [];
    expect(env.REDIS_URL).toBe(`redis://:${redis[redis.indexOf('--requirepass') + 1]}@redis:6379/0`);
    expect(resolved.services.mysql.command).toEqual([
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
    ]);
  });

  it('gives in-flight requests time to finish before compose kills the API', () => {
    const grace = Number(/^(\d+)s$/.exec(services.api.stop_grace_period ?? '')?.[1]);
    const timeout = Number(
      (resolved.services.api.environment as Record<string, string>).SHUTDOWN_TIMEOUT_SECONDS,
    );
    expect(grace).toBeGreaterThan(timeout);
    const ports = (resolved.services.api.ports ?? []).map((p) => p.split(':').pop());
    expect(ports).toEqual(['8000']);
  });
});
