import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startMariaDb, startRedis, type RunningService } from './services';

/** Jest global setup: real servers for the whole run; their URLs reach the test workers via env. */
export const STATE_FILE = join(tmpdir(), `arbor-test-services-${process.pid}.json`);

export default async function globalSetup(): Promise<void> {
  const services: RunningService[] = [];
  const kind = process.env.ARBOR_TEST_DB ?? 'sqlite';
  if (kind === 'mariadb') {
    const mariadb = await startMariaDb();
    services.push(mariadb);
    process.env.ARBOR_TEST_MARIADB_URL = mariadb.url;
  } else if (kind !== 'sqlite') {
    throw new Error(`ARBOR_TEST_DB must be sqlite or mariadb, not ${kind}`);
  }
  const redis = await startRedis();
  services.push(redis);
  process.env.ARBOR_TEST_REDIS_URL = redis.url;
  process.env.ARBOR_TEST_STATE_FILE = STATE_FILE;
  writeFileSync(STATE_FILE, JSON.stringify(services));
}
