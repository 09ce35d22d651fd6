import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as argon2 from 'argon2';

/**
 * The login scenario's baseline, run as its own process so it gets the same libuv threadpool size
 * (UV_THREADPOOL_SIZE) as the server it is compared with: `concurrency` async workers verifying one
 * argon2id hash in a loop for `durationS` seconds. Prints one JSON line: verifies/s, each latency (ms), the
 * cores this process used and the cores everything else on the machine used meanwhile (a disturbed baseline
 * must be told from a slow one).
 */

// Written out rather than imported from src/, so the baseline is the stated target, not whatever src says.
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
const PASSWORD = 'Bench-pass-2026';
/** Linux USER_HZ: the unit of /proc CPU times. */
const CLOCK_TICKS = 100;

/** CPU seconds every core spent busy since boot. */
function machineBusySeconds(): number {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
}

async function main(): Promise<void> {
  const concurrency = Number(process.argv[2]);
  const durationS = Number(process.argv[3]);
  if (!Number.isInteger(concurrency) || concurrency <= 0 || !(durationS > 0)) {
    throw new Error('usage: argon2-loop.ts <concurrency> <duration seconds>');
  }
  const hash = await argon2.hash(PASSWORD, ARGON2_OPTIONS);
  const latencies: number[] = [];
  const busyBefore = machineBusySeconds();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + durationS * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const begun = performance.now();
      if (!(await argon2.verify(hash, PASSWORD))) throw new Error('argon2.verify returned false');
      latencies.push(performance.now() - begun);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  // process.cpuUsage covers every thread of this process, the threadpool's included.
  const cores = (cpu.user + cpu.system) / 1e6 / seconds;
  const others = Math.max(0, (machineBusySeconds() - busyBefore) / seconds - cores);
  process.stdout.write(
    `${JSON.stringify({ perSecond: latencies.length / seconds, latencies, cores, others })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
