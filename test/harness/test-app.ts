import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { createConnection } from 'mysql2/promise';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { createRootLogger, PinoNestLogger } from '../../src/common/logging/logger';
import { Clock } from '../../src/common/time/clock';
import { AppConfig } from '../../src/config/app-config';
import { createDataSource } from '../../src/database/data-source';

export const ADMIN_PASSWORD = 'Root-pass-2026-x';
export const API = '/siteapi/v1';

export interface TestApp {
  app: NestExpressApplication;
  http: TestAgent;
  config: AppConfig;
  /** Every JSON log line the app wrote. */
  logs: string[];
  /** Moves the app's clock forward (the Clock provider is the app's only source of time). */
  advanceClock(ms: number): void;
  adminToken(): Promise<string>;
  close(): Promise<void>;
}

export const testDatabaseKind = (): 'sqlite' | 'mariadb' =>
  process.env.ARBOR_TEST_DB === 'mariadb' ? 'mariadb' : 'sqlite';

/** A fresh database for one test file: a temporary SQLite file, or a new schema on the harness's MariaDB. */
export async function freshDatabaseEnv(): Promise<{
  env: Record<string, string>;
  drop: () => Promise<void>;
}> {
  if (testDatabaseKind() === 'mariadb') {
    const serverUrl = process.env.ARBOR_TEST_MARIADB_URL;
    if (!serverUrl) throw new Error('ARBOR_TEST_MARIADB_URL is not set: run through jest.e2e.config.js');
    const name = `arbor_t_${randomBytes(6).toString('hex')}`;
    const admin = await createConnection(serverUrl.replace(/^mariadb:/, 'mysql:'));
    await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.end();
    return {
      env: { DATABASE_URL: `${serverUrl}/${name}` },
      drop: async () => {
        const conn = await createConnection(serverUrl.replace(/^mariadb:/, 'mysql:'));
        await conn.query(`DROP DATABASE IF EXISTS ${name}`);
        await conn.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'arbor-sqlite-'));
  return {
    env: { SQLITE_PATH: join(dir, 'arbor.sqlite') },
    drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  };
}

/**
 * A fresh database with the schema migrated, for tests that start real server processes: a shared
 * MariaDB database is never migrated by the API itself (it checks the schema and refuses to start).
 */
export async function freshMigratedDatabaseEnv(): Promise<{
  env: Record<string, string>;
  drop: () => Promise<void>;
}> {
  const database = await freshDatabaseEnv();
  const dataSource = createDataSource(AppConfig.fromEnvironment({ ...database.env, NODE_ENV: 'test' }));
  await dataSource.initialize();
  await dataSource.runMigrations();
  await dataSource.destroy();
  return database;
}

/** `database`: one the test prepared itself (to test a migration over older rows); dropped on close. */
export async function createTestApp(
  overrides: Record<string, string> = {},
  options: { database?: { env: Record<string, string>; drop: () => Promise<void> } } = {},
): Promise<TestApp> {
  const database = options.database ?? (await freshDatabaseEnv());
  const config = AppConfig.fromEnvironment({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    BASE_URL: 'http://arbor.test',
    ADMIN_PASSWORD,
    LOGIN_IP_LIMIT: '100000',
    REDIS_URL: '',
    SECRET_KEY: 'arbor-test-master-key-0123456789abcdef',
    ...database.env,
    ...overrides,
  });
  if (config.database.kind === 'mysql') {
    const dataSource = createDataSource(config);
    await dataSource.initialize();
    await dataSource.runMigrations();
    await dataSource.destroy();
  }
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createRootLogger(config.logLevel, sink);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
  });
  configureApp(app, config, logger);
  await app.init();
  let offset = 0;
  const clock = app.get(Clock);
  const realNow = clock.now.bind(clock);
  clock.now = () => new Date(realNow().getTime() + offset);
  const http = request(app.getHttpServer());
  let admin: string | undefined;
  return {
    app,
    http,
    config,
    logs,
    advanceClock: (ms) => {
      offset += ms;
    },
    adminToken: async () => {
      admin ??= await login(http, { username: 'admin', password: ADMIN_PASSWORD });
      return admin;
    },
    close: async () => {
      await app.close();
      await database.drop();
    },
  };
}

export async function login(http: TestAgent, body: object): Promise<string> {
  const res = await http.post(`${API}/ucenter/login/`).send(body);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { token: string }).token;
}

let sequence = 0;
/** Creates a user through the API and returns its username and password. */
export async function createUser(
  t: TestApp,
  fields: Record<string, unknown> = {},
): Promise<{ username: string; password: string; body: Record<string, unknown> }> {
  sequence += 1;
  const username = (fields.username as string | undefined) ?? `user${process.pid}x${sequence}`;
  const password = (fields.password as string | undefined) ?? `Pass-${sequence}-word`;
  const res = await t.http
    .post(`${API}/user/`)
    .set('Authorization', `Token ${await t.adminToken()}`)
    .send({ user: { name: username, ...fields, username, password } });
  if (res.status !== 201) {
    const errors = t.logs.filter((line) => line.includes('"level":50')).slice(-1);
    throw new Error(`createUser failed: ${res.status} ${JSON.stringify(res.body)} ${errors.join('')}`);
  }
  return { username, password, body: res.body as Record<string, unknown> };
}
