import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess } from './harness/server-process';
import { ADMIN_PASSWORD, API, freshMigratedDatabaseEnv, testDatabaseKind } from './harness/test-app';

const REDIS_URL = process.env.ARBOR_TEST_REDIS_URL ?? '';

/** A raw HTTP/1.1 connection, so the test decides exactly when each byte of the request is sent. */
function openSocket(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = connect(port, '127.0.0.1', () => resolve({ socket, received: () => data, closed }));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    socket.on('error', reject);
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`graceful shutdown of the server process (${testDatabaseKind()})`, () => {
  let dir: string;
  let dbEnv: Record<string, string>;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbor-shutdown-'));
    const database = await freshMigratedDatabaseEnv();
    dbEnv = database.env;
    drop = database.drop;
  });
  afterAll(async () => {
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('on SIGTERM stops accepting, finishes the in-flight request, closes its pools and exits 0', async () => {
    const server = await startServerProcess(dir, { ...dbEnv, REDIS_URL, SHUTDOWN_TIMEOUT_SECONDS: '20' });
    const body = JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD });
    const half = Math.floor(body.length / 2);
    const { socket, received, closed } = await openSocket(server.port);
    // Headers and half of the body: the request is in flight when the signal arrives.
    socket.write(
      `POST ${API}/ucenter/login/ HTTP/1.1\r\nHost: arbor.test\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body.slice(0, half)}`,
    );
    await sleep(300);
    server.child.kill('SIGTERM');
    await server.waitForLog('Stopping: finishing in-flight requests');
    // The listener is closed at once: new connections are refused while the old request goes on.
    const deadline = Date.now() + 5000;
    while ((await canConnect(server.port)) && Date.now() < deadline) await sleep(50);
    expect(await canConnect(server.port)).toBe(false);
    expect(server.child.exitCode).toBeNull();

    await sleep(500);
    socket.write(body.slice(half));
    await closed;
    const response = received();
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response).toMatch(/"token":"[0-9a-f]{64}"/);

    // It ends by itself once the pools are closed: the keep-alive connection did not hold it, nothing
    // else stayed open (else the bound would have fired and the code would be 1).
    const started = Date.now();
    const exit = await server.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(server.logs.some((line) => line.includes('Arbor stopped: requests finished'))).toBe(true);
    expect(server.logs.some((line) => line.includes('did not finish in time'))).toBe(false);
  }, 120000);

  it('exits 1 after SHUTDOWN_TIMEOUT_SECONDS when a request never finishes', async () => {
    const server = await startServerProcess(dir, { ...dbEnv, REDIS_URL, SHUTDOWN_TIMEOUT_SECONDS: '2' });
    const { socket, closed } = await openSocket(server.port);
    socket.write(
      `POST ${API}/ucenter/login/ HTTP/1.1\r\nHost: arbor.test\r\nContent-Type: application/json\r\n` +
        `Content-Length: 100\r\n\r\n{"username":`,
    );
    await sleep(300);
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    const took = Date.now() - signalled;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(10000);
    expect(server.logs.some((line) => line.includes('Shutdown did not finish in time'))).toBe(true);
    await closed;
  }, 120000);
});
