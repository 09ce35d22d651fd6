import * as audit from './audit';
import * as csv from './csv';
import * as dingsync from './dingsync';
import * as login from './login';
import * as oauth from './oauth';
import * as org from './org';
import * as perm from './perm';

/** A benchmark scenario; it prints its own summary and cleans up after itself, also on failure. */
interface Scenario {
  run(): Promise<void>;
}

/** `npm run bench -- <scenario>`: each scenario measures Arbor beside its baseline in the same run. */
const SCENARIOS: Record<string, Scenario> = { audit, csv, dingsync, login, oauth, org, perm };

function usage(): never {
  console.error(`Usage: npm run bench -- <scenario>\nScenarios: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const name = process.argv[2];
  const scenario = name !== undefined && Object.hasOwn(SCENARIOS, name) ? SCENARIOS[name] : undefined;
  if (!scenario) usage();
  await scenario.run();
}

// Exit explicitly: client sockets or native handles left behind must not keep the run alive.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
