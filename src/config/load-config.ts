import { AppConfig } from './app-config';
import { ConfigValidationError } from './config.schema';

/** The configuration from the environment; a bad setting is printed and the process exits 78 (EX_CONFIG). */
export function loadConfigOrExit(): AppConfig {
  try {
    return AppConfig.fromEnvironment();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}
