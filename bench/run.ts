import { run as login } from './login';

/** `npm run bench -- <scenario>`: each scenario measures Arbor beside its baseline in the same run. */
const SCENARIOS: Record<string, () => Promise<void>> = { login };

const name = process.argv[2];
const scenario = name ? SCENARIOS[name] : undefined;
if (!scenario) {
  console.error(`Usage: npm run bench -- <scenario>\nScenarios: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}
scenario().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
