/**
 * A structural check of the Kubernetes objects the Arbor chart emits, kind by kind: required fields,
 * the types of the important ones (containers, probes, ports, env, resources, security contexts),
 * unknown keys where a typo would be silently ignored by the API server, and the rules the API server
 * enforces (a Deployment's selector matches its pod labels, a named probe port exists, ...).
 * `validateObject` checks one object; `validateRelease` checks how the objects of a release refer to
 * each other. Both return a list of problems, empty when valid.
 */
type Obj = Record<string, unknown>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
const DURATION = /^[0-9]+(ms|s|m|h)$/;
const PERCENT_OR_INT = /^[0-9]+%$/;

export const API_VERSIONS: Record<string, string> = {
  ConfigMap: 'v1',
  Secret: 'v1',
  ServiceAccount: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  Job: 'batch/v1',
  Ingress: 'networking.k8s.io/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  PodDisruptionBudget: 'policy/v1',
  ServiceMonitor: 'monitoring.coreos.com/v1',
};

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

class Checker {
  readonly problems: string[] = [];
  constructor(private readonly where: string) {}

  add(path: string, message: string): void {
    this.problems.push(`${this.where}: ${path.replace(/^\./, '') || '(top)'}: ${message}`);
  }

  obj(parent: Obj, key: string, path: string, required = true): Obj | undefined {
    const value = parent[key];
    if (value === undefined || value === null) {
      if (required) this.add(`${path}.${key}`, 'is required');
      return undefined;
    }
    if (!isObj(value)) {
      this.add(`${path}.${key}`, `must be an object, not ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  arr(parent: Obj, key: string, path: string, required = true): unknown[] | undefined {
    const value = parent[key];
    if (value === undefined || value === null) {
      if (required) this.add(`${path}.${key}`, 'is required');
      return undefined;
    }
    if (!Array.isArray(value)) {
      this.add(`${path}.${key}`, 'must be a list');
      return undefined;
    }
    return value as unknown[];
  }

  str(
    parent: Obj,
    key: string,
    path: string,
    opts: { required?: boolean; pattern?: RegExp; max?: number; oneOf?: string[] } = {},
  ): string | undefined {
    const value = parent[key];
    if (value === undefined || value === null) {
      if (opts.required ?? true) this.add(`${path}.${key}`, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.add(`${path}.${key}`, `must be a string, not ${JSON.stringify(value)}`);
      return undefined;
    }
    if (opts.pattern && !opts.pattern.test(value))
      this.add(`${path}.${key}`, `"${value}" does not match ${opts.pattern}`);
    if (opts.max !== undefined && value.length > opts.max)
      this.add(`${path}.${key}`, `"${value}" is longer than ${opts.max}`);
    if (opts.oneOf && !opts.oneOf.includes(value))
      this.add(`${path}.${key}`, `"${value}" is not one of ${opts.oneOf.join(', ')}`);
    return value;
  }

  int(
    parent: Obj,
    key: string,
    path: string,
    opts: { required?: boolean; min?: number; max?: number } = {},
  ): number | undefined {
    const value = parent[key];
    if (value === undefined || value === null) {
      if (opts.required) this.add(`${path}.${key}`, 'is required');
      return undefined;
    }
    if (!isInt(value)) {
      this.add(`${path}.${key}`, `must be an integer, not ${JSON.stringify(value)}`);
      return undefined;
    }
    if (opts.min !== undefined && value < opts.min)
      this.add(`${path}.${key}`, `${value} is below ${opts.min}`);
    if (opts.max !== undefined && value > opts.max)
      this.add(`${path}.${key}`, `${value} is above ${opts.max}`);
    return value;
  }

  bool(parent: Obj, key: string, path: string, required = false): boolean | undefined {
    const value = parent[key];
    if (value === undefined || value === null) {
      if (required) this.add(`${path}.${key}`, 'is required');
      return undefined;
    }
    if (typeof value !== 'boolean') {
      this.add(`${path}.${key}`, `must be a boolean, not ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  keys(value: Obj, allowed: string[], path: string): void {
    for (const key of Object.keys(value))
      if (!allowed.includes(key)) this.add(path, `unknown field "${key}"`);
  }

  stringMap(
    parent: Obj,
    key: string,
    path: string,
    keyPattern?: RegExp,
    valuePattern?: RegExp,
  ): Record<string, string> {
    const map = this.obj(parent, key, path, false);
    if (!map) return {};
    for (const [k, v] of Object.entries(map)) {
      if (keyPattern && !keyPattern.test(k))
        this.add(`${path}.${key}`, `key "${k}" does not match ${keyPattern}`);
      if (typeof v !== 'string')
        this.add(`${path}.${key}.${k}`, `must be a string, not ${JSON.stringify(v)}`);
      else if (valuePattern && !valuePattern.test(v))
        this.add(`${path}.${key}.${k}`, `"${v}" does not match ${valuePattern}`);
      else if (valuePattern && v.length > 63) this.add(`${path}.${key}.${k}`, 'is longer than 63');
    }
    return map as Record<string, string>;
  }

  intOrString(parent: Obj, key: string, path: string, required: boolean): void {
    const value = parent[key];
    if (value === undefined || value === null) {
      if (required) this.add(`${path}.${key}`, 'is required');
      return;
    }
    if (!isInt(value) && typeof value !== 'string')
      this.add(`${path}.${key}`, 'must be an integer or a string');
  }
}

function checkMetadata(c: Checker, doc: Obj, kind: string): void {
  const metadata = c.obj(doc, 'metadata', '');
  if (!metadata) return;
  c.keys(metadata, ['name', 'namespace', 'labels', 'annotations'], 'metadata');
  const nameRule =
    kind === 'Service' ? { pattern: DNS_LABEL, max: 63 } : { pattern: DNS_SUBDOMAIN, max: 253 };
  c.str(metadata, 'name', 'metadata', nameRule);
  c.str(metadata, 'namespace', 'metadata', { required: false, pattern: DNS_LABEL, max: 63 });
  c.stringMap(metadata, 'labels', 'metadata', QUALIFIED_NAME, LABEL_VALUE);
  c.stringMap(metadata, 'annotations', 'metadata', QUALIFIED_NAME);
}

function checkSecurityContext(c: Checker, sc: Obj, path: string, pod: boolean): void {
  const common = ['runAsNonRoot', 'runAsUser', 'runAsGroup', 'seccompProfile'];
  const allowed = pod
    ? [...common, 'fsGroup', 'fsGroupChangePolicy', 'supplementalGroups']
    : [...common, 'allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'privileged', 'capabilities'];
  c.keys(sc, allowed, path);
  c.bool(sc, 'runAsNonRoot', path);
  c.int(sc, 'runAsUser', path, { min: 0 });
  c.int(sc, 'runAsGroup', path, { min: 0 });
  const seccomp = c.obj(sc, 'seccompProfile', path, false);
  if (seccomp)
    c.str(seccomp, 'type', `${path}.seccompProfile`, {
      oneOf: ['RuntimeDefault', 'Localhost', 'Unconfined'],
    });
  if (pod) {
    c.int(sc, 'fsGroup', path, { min: 0 });
    return;
  }
  c.bool(sc, 'allowPrivilegeEscalation', path);
  c.bool(sc, 'readOnlyRootFilesystem', path);
  c.bool(sc, 'privileged', path);
  const caps = c.obj(sc, 'capabilities', path, false);
  if (caps) {
    c.keys(caps, ['add', 'drop'], `${path}.capabilities`);
    for (const key of ['add', 'drop']) {
      const list = c.arr(caps, key, `${path}.capabilities`, false);
      if (list?.some((v) => typeof v !== 'string')) c.add(`${path}.capabilities.${key}`, 'must list strings');
    }
  }
}

function checkHandler(c: Checker, handler: Obj, path: string, ports: Set<string>, kinds: string[]): void {
  const present = kinds.filter((k) => handler[k] !== undefined);
  if (present.length !== 1)
    c.add(path, `needs exactly one of ${kinds.join(', ')}, has ${present.join(', ') || 'none'}`);
  const httpGet = c.obj(handler, 'httpGet', path, false);
  if (httpGet) {
    c.keys(httpGet, ['path', 'port', 'scheme', 'httpHeaders', 'host'], `${path}.httpGet`);
    c.str(httpGet, 'path', `${path}.httpGet`, { pattern: /^\// });
    checkPortRef(c, httpGet, `${path}.httpGet`, ports);
  }
  const tcp = c.obj(handler, 'tcpSocket', path, false);
  if (tcp) checkPortRef(c, tcp, `${path}.tcpSocket`, ports);
  const exec = c.obj(handler, 'exec', path, false);
  if (exec) {
    const command = c.arr(exec, 'command', `${path}.exec`);
    if (command && (command.length === 0 || command.some((v) => typeof v !== 'string'))) {
      c.add(`${path}.exec.command`, 'must be a non-empty list of strings');
    }
  }
}

function checkPortRef(c: Checker, holder: Obj, path: string, ports: Set<string>): void {
  const port = holder.port;
  if (isInt(port)) {
    if (port < 1 || port > 65535) c.add(`${path}.port`, `${port} is out of range`);
  } else if (typeof port === 'string') {
    if (!ports.has(port)) c.add(`${path}.port`, `names port "${port}", which the container does not declare`);
  } else {
    c.add(`${path}.port`, 'is required (a number or a named container port)');
  }
}

function checkProbe(c: Checker, probe: Obj, path: string, ports: Set<string>, liveness: boolean): void {
  c.keys(
    probe,
    [
      'httpGet',
      'tcpSocket',
      'exec',
      'grpc',
      'initialDelaySeconds',
      'periodSeconds',
      'timeoutSeconds',
      'successThreshold',
      'failureThreshold',
      'terminationGracePeriodSeconds',
    ],
    path,
  );
  checkHandler(c, probe, path, ports, ['httpGet', 'tcpSocket', 'exec', 'grpc']);
  c.int(probe, 'initialDelaySeconds', path, { min: 0 });
  c.int(probe, 'periodSeconds', path, { min: 1 });
  c.int(probe, 'timeoutSeconds', path, { min: 1 });
  c.int(probe, 'failureThreshold', path, { min: 1 });
  const success = c.int(probe, 'successThreshold', path, { min: 1 });
  if (liveness && success !== undefined && success !== 1)
    c.add(`${path}.successThreshold`, 'must be 1 for liveness and startup probes');
}

function quantity(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !QUANTITY.test(text)) return undefined;
  const match = /^([0-9.]+)(.*)$/.exec(text) as RegExpExecArray;
  const factor: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  return Number(match[1]) * factor[match[2]];
}

function checkResources(c: Checker, resources: Obj, path: string): void {
  c.keys(resources, ['requests', 'limits'], path);
  const parsed: Record<string, Record<string, number>> = {};
  for (const kind of ['requests', 'limits']) {
    const values = c.obj(resources, kind, path, false);
    if (!values) continue;
    parsed[kind] = {};
    for (const [name, value] of Object.entries(values)) {
      if (!['cpu', 'memory', 'ephemeral-storage'].includes(name))
        c.add(`${path}.${kind}`, `unknown resource "${name}"`);
      const amount = quantity(value);
      if (amount === undefined)
        c.add(`${path}.${kind}.${name}`, `${JSON.stringify(value)} is not a quantity`);
      else parsed[kind][name] = amount;
    }
  }
  for (const [name, limit] of Object.entries(parsed.limits ?? {})) {
    const request = parsed.requests?.[name];
    if (request !== undefined && request > limit) c.add(`${path}.requests.${name}`, 'is above its limit');
  }
}

function checkEnv(c: Checker, env: unknown[], path: string): void {
  const seen = new Set<string>();
  env.forEach((entry, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(entry)) return c.add(p, 'must be an object');
    c.keys(entry, ['name', 'value', 'valueFrom'], p);
    const name = c.str(entry, 'name', p, { pattern: ENV_NAME });
    if (name !== undefined) {
      if (seen.has(name)) c.add(p, `duplicate variable ${name}`);
      seen.add(name);
    }
    if ((entry.value === undefined) === (entry.valueFrom === undefined))
      c.add(p, 'needs exactly one of value, valueFrom');
    if (entry.value !== undefined && typeof entry.value !== 'string')
      c.add(`${p}.value`, `must be a string, not ${JSON.stringify(entry.value)}`);
    const from = c.obj(entry, 'valueFrom', p, false);
    if (from) {
      c.keys(from, ['secretKeyRef', 'configMapKeyRef', 'fieldRef', 'resourceFieldRef'], `${p}.valueFrom`);
      if (Object.keys(from).length !== 1) c.add(`${p}.valueFrom`, 'needs exactly one source');
      for (const key of ['secretKeyRef', 'configMapKeyRef']) {
        const ref = c.obj(from, key, `${p}.valueFrom`, false);
        if (!ref) continue;
        c.keys(ref, ['name', 'key', 'optional'], `${p}.valueFrom.${key}`);
        c.str(ref, 'name', `${p}.valueFrom.${key}`, { pattern: DNS_SUBDOMAIN });
        c.str(ref, 'key', `${p}.valueFrom.${key}`, { pattern: /^[-._a-zA-Z0-9]+$/ });
        c.bool(ref, 'optional', `${p}.valueFrom.${key}`);
      }
    }
  });
}

function checkContainer(
  c: Checker,
  container: Obj,
  path: string,
  volumes: Set<string>,
  restartable: boolean,
): void {
  c.keys(
    container,
    [
      'name',
      'image',
      'imagePullPolicy',
      'command',
      'args',
      'workingDir',
      'ports',
      'env',
      'envFrom',
      'resources',
      'securityContext',
      'livenessProbe',
      'readinessProbe',
      'startupProbe',
      'lifecycle',
      'volumeMounts',
    ],
    path,
  );
  c.str(container, 'name', path, { pattern: DNS_LABEL, max: 63 });
  c.str(container, 'image', path, { pattern: /^[^\s:]+(:[^\s:]+)?$/ });
  c.str(container, 'imagePullPolicy', path, { required: false, oneOf: ['Always', 'IfNotPresent', 'Never'] });
  for (const key of ['command', 'args']) {
    const list = c.arr(container, key, path, false);
    if (list && list.some((v) => typeof v !== 'string')) c.add(`${path}.${key}`, 'must list strings');
  }
  const ports = new Set<string>();
  (c.arr(container, 'ports', path, false) ?? []).forEach((port, i) => {
    const p = `${path}.ports[${i}]`;
    if (!isObj(port)) return c.add(p, 'must be an object');
    c.keys(port, ['name', 'containerPort', 'protocol', 'hostPort'], p);
    c.int(port, 'containerPort', p, { required: true, min: 1, max: 65535 });
    const name = c.str(port, 'name', p, { required: false, pattern: PORT_NAME, max: 15 });
    if (name !== undefined) {
      if (!/[a-z]/.test(name)) c.add(`${p}.name`, 'must contain a letter');
      if (ports.has(name)) c.add(`${p}.name`, `duplicate port name ${name}`);
      ports.add(name);
    }
    c.str(port, 'protocol', p, { required: false, oneOf: ['TCP', 'UDP', 'SCTP'] });
  });
  const env = c.arr(container, 'env', path, false);
  if (env) checkEnv(c, env, `${path}.env`);
  (c.arr(container, 'envFrom', path, false) ?? []).forEach((source, i) => {
    const p = `${path}.envFrom[${i}]`;
    if (!isObj(source)) return c.add(p, 'must be an object');
    c.keys(source, ['configMapRef', 'secretRef', 'prefix'], p);
    const ref = c.obj(source, 'configMapRef', p, false) ?? c.obj(source, 'secretRef', p, false);
    if (!ref) c.add(p, 'needs configMapRef or secretRef');
    else c.str(ref, 'name', p, { pattern: DNS_SUBDOMAIN });
  });
  const resources = c.obj(container, 'resources', path, false);
  if (resources) checkResources(c, resources, `${path}.resources`);
  const sc = c.obj(container, 'securityContext', path, false);
  if (sc) checkSecurityContext(c, sc, `${path}.securityContext`, false);
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const value = c.obj(container, probe, path, false);
    if (!value) continue;
    if (!restartable) c.add(`${path}.${probe}`, 'is not allowed in a Job container');
    checkProbe(c, value, `${path}.${probe}`, ports, probe !== 'readinessProbe');
  }
  const lifecycle = c.obj(container, 'lifecycle', path, false);
  if (lifecycle) {
    c.keys(lifecycle, ['preStop', 'postStart'], `${path}.lifecycle`);
    for (const hook of ['preStop', 'postStart']) {
      const handler = c.obj(lifecycle, hook, `${path}.lifecycle`, false);
      if (handler)
        checkHandler(c, handler, `${path}.lifecycle.${hook}`, ports, [
          'exec',
          'httpGet',
          'tcpSocket',
          'sleep',
        ]);
    }
  }
  (c.arr(container, 'volumeMounts', path, false) ?? []).forEach((mount, i) => {
    const p = `${path}.volumeMounts[${i}]`;
    if (!isObj(mount)) return c.add(p, 'must be an object');
    c.keys(mount, ['name', 'mountPath', 'readOnly', 'subPath'], p);
    const name = c.str(mount, 'name', p);
    if (name !== undefined && !volumes.has(name))
      c.add(`${p}.name`, `mounts volume "${name}", which the pod does not have`);
    c.str(mount, 'mountPath', p, { pattern: /^\// });
    c.bool(mount, 'readOnly', p);
  });
}

function checkPodTemplate(c: Checker, template: Obj, path: string, owner: 'Deployment' | 'Job'): void {
  c.keys(template, ['metadata', 'spec'], path);
  const metadata = c.obj(template, 'metadata', path);
  if (metadata) {
    c.keys(metadata, ['labels', 'annotations'], `${path}.metadata`);
    c.stringMap(metadata, 'labels', `${path}.metadata`, QUALIFIED_NAME, LABEL_VALUE);
    c.stringMap(metadata, 'annotations', `${path}.metadata`, QUALIFIED_NAME);
  }
  const spec = c.obj(template, 'spec', path);
  if (!spec) return;
  const p = `${path}.spec`;
  c.keys(
    spec,
    [
      'containers',
      'initContainers',
      'volumes',
      'serviceAccountName',
      'automountServiceAccountToken',
      'securityContext',
      'imagePullSecrets',
      'nodeSelector',
      'tolerations',
      'affinity',
      'topologySpreadConstraints',
      'terminationGracePeriodSeconds',
      'restartPolicy',
      'priorityClassName',
    ],
    p,
  );
  c.str(spec, 'serviceAccountName', p, { required: false, pattern: DNS_SUBDOMAIN });
  c.bool(spec, 'automountServiceAccountToken', p);
  c.int(spec, 'terminationGracePeriodSeconds', p, { min: 0 });
  const restart = c.str(spec, 'restartPolicy', p, {
    required: false,
    oneOf: ['Always', 'OnFailure', 'Never'],
  });
  if (owner === 'Job' && restart !== 'Never' && restart !== 'OnFailure')
    c.add(`${p}.restartPolicy`, 'a Job needs Never or OnFailure');
  if (owner === 'Deployment' && restart !== undefined && restart !== 'Always')
    c.add(`${p}.restartPolicy`, 'a Deployment needs Always');
  const sc = c.obj(spec, 'securityContext', p, false);
  if (sc) checkSecurityContext(c, sc, `${p}.securityContext`, true);
  c.stringMap(spec, 'nodeSelector', p, QUALIFIED_NAME);
  (c.arr(spec, 'imagePullSecrets', p, false) ?? []).forEach((s, i) => {
    if (!isObj(s)) return c.add(`${p}.imagePullSecrets[${i}]`, 'must be an object');
    c.str(s, 'name', `${p}.imagePullSecrets[${i}]`, { pattern: DNS_SUBDOMAIN });
  });
  (c.arr(spec, 'tolerations', p, false) ?? []).forEach((t, i) => {
    if (!isObj(t)) return c.add(`${p}.tolerations[${i}]`, 'must be an object');
    c.keys(t, ['key', 'operator', 'value', 'effect', 'tolerationSeconds'], `${p}.tolerations[${i}]`);
    c.str(t, 'operator', `${p}.tolerations[${i}]`, { required: false, oneOf: ['Exists', 'Equal'] });
    c.str(t, 'effect', `${p}.tolerations[${i}]`, {
      required: false,
      oneOf: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'],
    });
  });
  (c.arr(spec, 'topologySpreadConstraints', p, false) ?? []).forEach((t, i) => {
    const tp = `${p}.topologySpreadConstraints[${i}]`;
    if (!isObj(t)) return c.add(tp, 'must be an object');
    c.int(t, 'maxSkew', tp, { required: true, min: 1 });
    c.str(t, 'topologyKey', tp);
    c.str(t, 'whenUnsatisfiable', tp, { oneOf: ['DoNotSchedule', 'ScheduleAnyway'] });
  });
  const volumes = new Set<string>();
  (c.arr(spec, 'volumes', p, false) ?? []).forEach((volume, i) => {
    const vp = `${p}.volumes[${i}]`;
    if (!isObj(volume)) return c.add(vp, 'must be an object');
    const name = c.str(volume, 'name', vp, { pattern: DNS_LABEL, max: 63 });
    if (name !== undefined) {
      if (volumes.has(name)) c.add(vp, `duplicate volume ${name}`);
      volumes.add(name);
    }
    const sources = Object.keys(volume).filter((k) => k !== 'name');
    if (sources.length !== 1) c.add(vp, 'needs exactly one volume source');
    const emptyDir = c.obj(volume, 'emptyDir', vp, false);
    if (emptyDir?.sizeLimit !== undefined && quantity(emptyDir.sizeLimit) === undefined)
      c.add(`${vp}.emptyDir.sizeLimit`, 'is not a quantity');
  });
  const containers = c.arr(spec, 'containers', p);
  if (containers && containers.length === 0) c.add(`${p}.containers`, 'must not be empty');
  const names = new Set<string>();
  (containers ?? []).forEach((container, i) => {
    if (!isObj(container)) return c.add(`${p}.containers[${i}]`, 'must be an object');
    if (typeof container.name === 'string') {
      if (names.has(container.name)) c.add(`${p}.containers[${i}]`, `duplicate container ${container.name}`);
      names.add(container.name);
    }
    checkContainer(c, container, `${p}.containers[${i}]`, volumes, owner === 'Deployment');
  });
}

function checkLabelSelector(c: Checker, selector: Obj | undefined, path: string): Record<string, string> {
  if (!selector) return {};
  c.keys(selector, ['matchLabels', 'matchExpressions'], path);
  const labels = c.stringMap(selector, 'matchLabels', path, QUALIFIED_NAME, LABEL_VALUE);
  if (Object.keys(labels).length === 0) c.add(path, 'selects every pod (empty matchLabels)');
  return labels;
}

const KIND_CHECKS: Record<string, (c: Checker, doc: Obj) => void> = {
  ConfigMap(c, doc) {
    c.keys(doc, ['apiVersion', 'kind', 'metadata', 'data', 'binaryData', 'immutable'], '');
    c.stringMap(doc, 'data', '', /^[-._a-zA-Z0-9]+$/);
  },
  Secret(c, doc) {
    c.keys(doc, ['apiVersion', 'kind', 'metadata', 'type', 'data', 'stringData', 'immutable'], '');
    c.str(doc, 'type', '', { required: false });
    const data = c.stringMap(doc, 'data', '', /^[-._a-zA-Z0-9]+$/);
    for (const [key, value] of Object.entries(data)) {
      if (typeof value === 'string' && Buffer.from(value, 'base64').toString('base64') !== value)
        c.add(`data.${key}`, 'is not base64');
    }
    c.stringMap(doc, 'stringData', '', /^[-._a-zA-Z0-9]+$/);
  },
  ServiceAccount(c, doc) {
    c.keys(
      doc,
      ['apiVersion', 'kind', 'metadata', 'automountServiceAccountToken', 'imagePullSecrets', 'secrets'],
      '',
    );
    c.bool(doc, 'automountServiceAccountToken', '');
  },
  Service(c, doc) {
    c.keys(doc, ['apiVersion', 'kind', 'metadata', 'spec'], '');
    const spec = c.obj(doc, 'spec', '');
    if (!spec) return;
    c.keys(
      spec,
      [
        'type',
        'selector',
        'ports',
        'clusterIP',
        'sessionAffinity',
        'externalTrafficPolicy',
        'loadBalancerSourceRanges',
      ],
      'spec',
    );
    c.str(spec, 'type', 'spec', {
      required: false,
      oneOf: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'],
    });
    c.stringMap(spec, 'selector', 'spec', QUALIFIED_NAME, LABEL_VALUE);
    const ports = c.arr(spec, 'ports', 'spec');
    if (ports?.length === 0) c.add('spec.ports', 'must not be empty');
    (ports ?? []).forEach((port, i) => {
      const p = `spec.ports[${i}]`;
      if (!isObj(port)) return c.add(p, 'must be an object');
      c.keys(port, ['name', 'port', 'targetPort', 'protocol', 'nodePort', 'appProtocol'], p);
      c.int(port, 'port', p, { required: true, min: 1, max: 65535 });
      c.intOrString(port, 'targetPort', p, false);
      c.str(port, 'name', p, { required: (ports ?? []).length > 1, pattern: PORT_NAME, max: 15 });
      c.str(port, 'protocol', p, { required: false, oneOf: ['TCP', 'UDP', 'SCTP'] });
    });
  },
  Deployment(c, doc) {
    c.keys(doc, ['apiVersion', 'kind', 'metadata', 'spec'], '');
    const spec = c.obj(doc, 'spec', '');
    if (!spec) return;
    c.keys(
      spec,
      [
        'replicas',
        'selector',
        'template',
        'strategy',
        'revisionHistoryLimit',
        'minReadySeconds',
        'progressDeadlineSeconds',
        'paused',
      ],
      'spec',
    );
    c.int(spec, 'replicas', 'spec', { min: 0 });
    c.int(spec, 'revisionHistoryLimit', 'spec', { min: 0 });
    const selector = checkLabelSelector(c, c.obj(spec, 'selector', 'spec'), 'spec.selector');
    const strategy = c.obj(spec, 'strategy', 'spec', false);
    if (strategy) {
      c.str(strategy, 'type', 'spec.strategy', { oneOf: ['RollingUpdate', 'Recreate'] });
      const rolling = c.obj(strategy, 'rollingUpdate', 'spec.strategy', false);
      if (rolling) {
        c.keys(rolling, ['maxSurge', 'maxUnavailable'], 'spec.strategy.rollingUpdate');
        for (const key of ['maxSurge', 'maxUnavailable']) {
          const v = rolling[key];
          if (v !== undefined && !isInt(v) && !(typeof v === 'string' && PERCENT_OR_INT.test(v)))
            c.add(`spec.strategy.rollingUpdate.${key}`, 'must be an integer or a percentage');
        }
      }
    }
    const template = c.obj(spec, 'template', 'spec');
    if (!template) return;
    checkPodTemplate(c, template, 'spec.template', 'Deployment');
    const podLabels =
      isObj(template.metadata) && isObj(template.metadata.labels) ? template.metadata.labels : {};
    for (const [key, value] of Object.entries(selector)) {
      if (podLabels[key] !== value)
        c.add('spec.selector', `matchLabels ${key}=${value} does not match the pod template's labels`);
    }
  },
  Job(c, doc) {
    c.keys(doc, ['apiVersion', 'kind', 'metadata', 'spec'], '');
    const spec = c.obj(doc, 'spec', '');
    if (!spec) return;
    c.keys(
      spec,
      [
        'template',
        'backoffLimit',
        'activeDeadlineSeconds',
        'ttlSecondsAfterFinished',
        'completions',
        'parallelism',
      ],
      'spec',
    );
    c.int(spec, 'backoffLimit', 'spec', { min: 0 });
    c.int(spec, 'activeDeadlineSeconds', 'spec', { min: 1 });
    c.int(spec, 'ttlSecondsAfterFinished', 'spec', { min: 0 });
    const template = c.obj(spec, 'template', 'spec');
    if (template) checkPodTemplate(c, template, 'spec.template', 'Job');
  },
  Ingress(c, doc) {
    c.keys(doc, ['apiVersion', 'kind', 'metadata', 'spec'], '');
    const spec = c.obj(doc, 'spec', '');
    if (!spec) return;
    c.keys(spec, ['ingressClassName', 'tls', 'rules', 'defaultBackend'], 'spec');
    c.str(spec, 'ingressClassName', 'spec', { required: false, pattern: DNS_SUBDOMAIN });
    (c.arr(spec, 'tls', 'spec', false) ?? []).forEach((tls, i) => {
      const p = `spec.tls[${i}]`;
      if (!isObj(tls)) return c.add(p, 'must be an object');
      c.keys(tls, ['secretName', 'hosts'], p);
      c.str(tls, 'secretName', p, { pattern: DNS_SUBDOMAIN });
      const hosts = c.arr(tls, 'hosts', p, false);
      if (hosts?.some((h) => typeof h !== 'string' || !DNS_SUBDOMAIN.test(h)))
        c.add(`${p}.hosts`, 'must list host names');
    });
    const rules = c.arr(spec, 'rules', 'spec');
    if (rules?.length === 0) c.add('spec.rules', 'must not be empty');
    (rules ?? []).forEach((rule, i) => {
      const p = `spec.rules[${i}]`;
      if (!isObj(rule)) return c.add(p, 'must be an object');
      c.keys(rule, ['host', 'http'], p);
      c.str(rule, 'host', p, { required: false, pattern: DNS_SUBDOMAIN });
      const http = c.obj(rule, 'http', p);
      const paths = http ? c.arr(http, 'paths', `${p}.http`) : undefined;
      (paths ?? []).forEach((entry, j) => {
        const pp = `${p}.http.paths[${j}]`;
        if (!isObj(entry)) return c.add(pp, 'must be an object');
        c.keys(entry, ['path', 'pathType', 'backend'], pp);
        c.str(entry, 'path', pp, { pattern: /^\// });
        c.str(entry, 'pathType', pp, { oneOf: ['Exact', 'Prefix', 'ImplementationSpecific'] });
        const backend = c.obj(entry, 'backend', pp);
        const service = backend ? c.obj(backend, 'service', `${pp}.backend`) : undefined;
        if (!service) return;
        c.str(service, 'name', `${pp}.backend.service`, { pattern: DNS_LABEL });
        const port = c.obj(service, 'port', `${pp}.backend.service`);
        if (port && (port.name === undefined) === (port.number === undefined))
          c.add(`${pp}.backend.service.port`, 'needs exactly one of name, number');
        if (port) {
          c.str(port, 'name', `${pp}.backend.service.port`, { required: false, pattern: PORT_NAME });
          c.int(port, 'number', `${pp}.backend.service.port`, { min: 1, max: 65535 });
        }
      });
    });
  },
  HorizontalPodAutoscaler(c, doc) {
    c.keys(doc, ['apiVersion', 'kind', 'metadata', 'spec'], '');
    const spec = c.obj(doc, 'spec', '');
    if (!spec) return;
    c.keys(spec, ['scaleTargetRef', 'minReplicas', 'maxReplicas', 'metrics', 'behavior'], 'spec');
    const target = c.obj(spec, 'scaleTargetRef', 'spec');
    if (target) {
      c.str(target, 'apiVersion', 'spec.scaleTargetRef');
      c.str(target, 'kind', 'spec.scaleTargetRef');
      c.str(target, 'name', 'spec.scaleTargetRef', { pattern: DNS_SUBDOMAIN });
    }
    const min = c.int(spec, 'minReplicas', 'spec', { min: 1 });
    const max = c.int(spec, 'maxReplicas', 'spec', { required: true, min: 1 });
    if (min !== undefined && max !== undefined && max < min)
      c.add('spec.maxReplicas', 'is below minReplicas');
    (c.arr(spec, 'metrics', 'spec', false) ?? []).forEach((metric, i) => {
      const p = `spec.metrics[${i}]`;
      if (!isObj(metric)) return c.add(p, 'must be an object');
      c.str(metric, 'type', p, { oneOf: ['Resource', 'Pods', 'Object', 'External', 'ContainerResource'] });
      const resource = c.obj(metric, 'resource', p, metric.type === 'Resource');
      if (!resource) return;
      c.str(resource, 'name', `${p}.resource`, { oneOf: ['cpu', 'memory'] });
      const t = c.obj(resource, 'target', `${p}.resource`);
      if (!t) return;
      c.str(t, 'type', `${p}.resource.target`, { oneOf: ['Utilization', 'AverageValue', 'Value'] });
      if (t.type === 'Utilization')
        c.int(t, 'averageUtilization', `${p}.resource.target`, { required: true, min: 1 });
    });
  },
  PodDisruptionBudget(c, doc) {
    c.keys(doc, ['apiVersion', 'kind', 'metadata', 'spec'], '');
    const spec = c.obj(doc, 'spec', '');
    if (!spec) return;
    c.keys(spec, ['minAvailable', 'maxUnavailable', 'selector', 'unhealthyPodEvictionPolicy'], 'spec');
    if ((spec.minAvailable === undefined) === (spec.maxUnavailable === undefined))
      c.add('spec', 'needs exactly one of minAvailable, maxUnavailable');
    for (const key of ['minAvailable', 'maxUnavailable']) {
      const v = spec[key];
      if (v !== undefined && !(isInt(v) && v >= 0) && !(typeof v === 'string' && PERCENT_OR_INT.test(v)))
        c.add(`spec.${key}`, `${JSON.stringify(v)} must be a count or a percentage`);
    }
    checkLabelSelector(c, c.obj(spec, 'selector', 'spec'), 'spec.selector');
  },
  ServiceMonitor(c, doc) {
    c.keys(doc, ['apiVersion', 'kind', 'metadata', 'spec'], '');
    const spec = c.obj(doc, 'spec', '');
    if (!spec) return;
    c.keys(spec, ['selector', 'namespaceSelector', 'endpoints', 'jobLabel'], 'spec');
    checkLabelSelector(c, c.obj(spec, 'selector', 'spec'), 'spec.selector');
    const endpoints = c.arr(spec, 'endpoints', 'spec');
    (endpoints ?? []).forEach((endpoint, i) => {
      const p = `spec.endpoints[${i}]`;
      if (!isObj(endpoint)) return c.add(p, 'must be an object');
      c.keys(endpoint, ['port', 'path', 'interval', 'scrapeTimeout', 'scheme', 'bearerTokenSecret'], p);
      c.str(endpoint, 'port', p, { pattern: PORT_NAME });
      c.str(endpoint, 'path', p, { required: false, pattern: /^\// });
      c.str(endpoint, 'interval', p, { required: false, pattern: DURATION });
      c.str(endpoint, 'scrapeTimeout', p, { required: false, pattern: DURATION });
      const secret = c.obj(endpoint, 'bearerTokenSecret', p, false);
      if (secret) {
        c.str(secret, 'name', `${p}.bearerTokenSecret`, { pattern: DNS_SUBDOMAIN });
        c.str(secret, 'key', `${p}.bearerTokenSecret`);
      }
    });
  },
};

/** Checks one object; `where` names it in the messages. */
export function validateObject(doc: unknown, where: string): string[] {
  const c = new Checker(where);
  if (!isObj(doc)) return [`${where}: is not a mapping`];
  const kind = c.str(doc, 'kind', '');
  if (kind === undefined) return c.problems;
  const expected = API_VERSIONS[kind];
  if (!expected) return [...c.problems, `${where}: kind ${kind} is not one the chart is meant to emit`];
  c.str(doc, 'apiVersion', '', { oneOf: [expected] });
  checkMetadata(c, doc, kind);
  KIND_CHECKS[kind](c, doc);
  return c.problems;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Obj;
  data?: Record<string, string>;
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const hookOf = (o: K8sObject) => o.metadata.annotations?.['helm.sh/hook'];
const weightOf = (o: K8sObject) => Number(o.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);

interface PodOwner {
  owner: K8sObject;
  labels: Record<string, string>;
  spec: Obj;
  containers: Obj[];
}

function podOwners(objects: K8sObject[]): PodOwner[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
    .map((owner) => {
      const template = (owner.spec?.template ?? {}) as {
        metadata?: { labels?: Record<string, string> };
        spec?: Obj;
      };
      const spec = template.spec ?? {};
      return {
        owner,
        labels: template.metadata?.labels ?? {},
        spec,
        containers: (spec.containers ?? []) as Obj[],
      };
    });
}

/**
 * How the objects of one release refer to each other. `externalSecrets` names Secrets the release
 * expects to exist already (secret.existingSecret, a subchart's), with the keys they must hold.
 */
export function validateRelease(
  objects: K8sObject[],
  externalSecrets: Record<string, string[]> = {},
): string[] {
  const problems: string[] = [];
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.name}`;
    if (seen.has(id)) problems.push(`${id}: emitted twice`);
    seen.add(id);
  }
  const owners = podOwners(objects);
  const deployments = owners.filter((p) => p.owner.kind === 'Deployment');
  const portNames = (pods: PodOwner[]) =>
    new Set(
      pods.flatMap((p) =>
        p.containers.flatMap((c) => ((c.ports ?? []) as Obj[]).map((port) => port.name as string)),
      ),
    );

  for (const service of byKind('Service')) {
    const selector = (service.spec?.selector ?? {}) as Record<string, string>;
    const targets = deployments.filter((d) => matches(selector, d.labels));
    if (targets.length === 0)
      problems.push(`Service/${service.metadata.name}: selects no pods of this release`);
    for (const port of (service.spec?.ports ?? []) as Obj[]) {
      if (typeof port.targetPort === 'string' && !portNames(targets).has(port.targetPort)) {
        problems.push(
          `Service/${service.metadata.name}: targetPort "${port.targetPort}" is not a port of the selected pods`,
        );
      }
    }
  }
  for (const ingress of byKind('Ingress')) {
    for (const rule of (ingress.spec?.rules ?? []) as {
      http?: { paths?: { backend?: { service?: { name: string; port: { name?: string } } } }[] };
    }[]) {
      for (const path of rule.http?.paths ?? []) {
        const backend = path.backend?.service;
        const service = byKind('Service').find((s) => s.metadata.name === backend?.name);
        if (!service)
          problems.push(
            `Ingress/${ingress.metadata.name}: routes to Service "${backend?.name}", not in the release`,
          );
        else if (
          backend?.port.name &&
          !((service.spec?.ports ?? []) as Obj[]).some((p) => p.name === backend.port.name)
        ) {
          problems.push(
            `Ingress/${ingress.metadata.name}: Service ${service.metadata.name} has no port "${backend.port.name}"`,
          );
        }
      }
    }
  }
  for (const hpa of byKind('HorizontalPodAutoscaler')) {
    const target = hpa.spec?.scaleTargetRef as { kind: string; name: string };
    const deployment = deployments.find((d) => d.owner.metadata.name === target.name);
    if (target.kind !== 'Deployment' || !deployment)
      problems.push(`HorizontalPodAutoscaler/${hpa.metadata.name}: scales nothing in the release`);
    else if (deployment.owner.spec?.replicas !== undefined)
      problems.push(`Deployment/${target.name}: sets replicas although an autoscaler owns them`);
    else {
      const limits = deployment.containers.map(
        (c) => (c.resources as { requests?: Obj } | undefined)?.requests ?? {},
      );
      for (const metric of (hpa.spec?.metrics ?? []) as { resource?: { name: string } }[]) {
        const name = metric.resource?.name;
        if (name && limits.some((r) => r[name] === undefined))
          problems.push(
            `HorizontalPodAutoscaler/${hpa.metadata.name}: scales on ${name} utilization, but a container requests no ${name}`,
          );
      }
    }
  }
  for (const pdb of byKind('PodDisruptionBudget')) {
    const selector = ((pdb.spec?.selector as Obj | undefined)?.matchLabels ?? {}) as Record<string, string>;
    if (!deployments.some((d) => matches(selector, d.labels)))
      problems.push(`PodDisruptionBudget/${pdb.metadata.name}: selects no pods of this release`);
  }
  for (const monitor of byKind('ServiceMonitor')) {
    const selector = ((monitor.spec?.selector as Obj | undefined)?.matchLabels ?? {}) as Record<
      string,
      string
    >;
    const services = byKind('Service').filter((s) => matches(selector, s.metadata.labels));
    if (services.length === 0)
      problems.push(`ServiceMonitor/${monitor.metadata.name}: selects no Service of this release`);
    for (const endpoint of (monitor.spec?.endpoints ?? []) as Obj[]) {
      if (!services.some((s) => ((s.spec?.ports ?? []) as Obj[]).some((p) => p.name === endpoint.port))) {
        problems.push(
          `ServiceMonitor/${monitor.metadata.name}: no selected Service has port "${String(endpoint.port)}"`,
        );
      }
    }
  }

  // Everything a pod refers to must exist when the pod is created. A hook runs before the release's
  // ordinary objects exist, so a hook pod may only use external objects or hooks with a lower weight.
  for (const pod of owners) {
    const id = `${pod.owner.kind}/${pod.owner.metadata.name}`;
    const hook = hookOf(pod.owner);
    const available = (kind: string, name: string): K8sObject | 'external' | undefined => {
      const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
      if (found) {
        if (!hook) return hookOf(found) ? undefined : found;
        return hookOf(found) && weightOf(found) < weightOf(pod.owner) ? found : undefined;
      }
      if (kind === 'Secret' && externalSecrets[name]) return 'external';
      return undefined;
    };
    const account = pod.spec.serviceAccountName as string | undefined;
    if (account && account !== 'default' && !available('ServiceAccount', account)) {
      problems.push(`${id}: uses ServiceAccount "${account}", which does not exist yet when it starts`);
    }
    for (const container of pod.containers) {
      for (const source of (container.envFrom ?? []) as {
        configMapRef?: { name: string };
        secretRef?: { name: string };
      }[]) {
        if (source.configMapRef && !available('ConfigMap', source.configMapRef.name))
          problems.push(
            `${id}: envFrom ConfigMap "${source.configMapRef.name}" does not exist yet when it starts`,
          );
        if (source.secretRef && !available('Secret', source.secretRef.name))
          problems.push(`${id}: envFrom Secret "${source.secretRef.name}" does not exist yet when it starts`);
      }
      for (const entry of (container.env ?? []) as {
        name: string;
        valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
      }[]) {
        const ref = entry.valueFrom?.secretKeyRef;
        if (!ref) continue;
        const secret = available('Secret', ref.name);
        if (!secret) {
          if (!ref.optional)
            problems.push(
              `${id}: ${entry.name} reads Secret "${ref.name}", which does not exist yet when it starts`,
            );
          continue;
        }
        const keys = secret === 'external' ? externalSecrets[ref.name] : Object.keys(secret.data ?? {});
        if (!ref.optional && !keys.includes(ref.key))
          problems.push(
            `${id}: ${entry.name} reads key "${ref.key}", which Secret "${ref.name}" does not have`,
          );
      }
    }
  }
  return problems;
}
