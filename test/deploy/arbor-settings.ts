import { getMetadataStorage } from 'class-validator';
import { EnvironmentSchema } from '../../src/config/config.schema';

/** Every environment variable Arbor reads: the properties of EnvironmentSchema, optional ones included. */
export function arborSettingNames(): Set<string> {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(EnvironmentSchema, '', true, false);
  return new Set(metadata.map((m) => m.propertyName));
}

/** Expands Kubernetes-style $(VAR) references from the variables defined so far. */
export function expandReferences(value: string, defined: Record<string, string>): string {
  return value.replace(
    /\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g,
    (whole, name: string) => defined[name] ?? whole,
  );
}
