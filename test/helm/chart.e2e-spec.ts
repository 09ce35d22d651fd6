import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { validateEnvironment } from '../../src/config/config.schema';
import { arborSettingNames, expandReferences } from '../deploy/arbor-settings';
import { type K8sObject, validateObject, validateRelease } from './k8s-schema';

const ROOT = join(__dirname, '..', '..');
const CHART = join(ROOT, 'charts', 'arbor');
const GOPATH = '/usr/share/gocode';
/** Variables the chart sets that are not Arbor settings: password parts of the URLs, and Node's own. */
const NOT_ARBOR = new Set(['ARBOR_DATABASE_PASSWORD', 'ARBOR_REDIS_PASSWORD', 'NODE_OPTIONS']);

type Values = Record<string, unknown>;
interface Rendered {
  objects: (K8sObject & { template: string })[];
  notes: string;
}

/**
 * The chart rendered by test/helm/render.go (Go's text/template + sprig, as helm does) and checked
 * document by document: valid YAML, a valid Kubernetes object of its kind, and a consistent release.
 */
describe('Helm chart charts/arbor', () => {
  let work: string;
  let renderer: string;
  let files = 0;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'arbor-helm-'));
    renderer = join(work, 'render');
    if (
      spawnSync('go', ['version']).status !== 0 ||
      !existsSync(join(GOPATH, 'src/github.com/Masterminds/sprig'))
    ) {
      throw new Error(
        'The chart test needs Go and sprig: apt-get install golang-go golang-github-masterminds-sprig-dev (bash .ci/run does)',
      );
    }
    const cache = join(tmpdir(), 'arbor-go-build-cache');
    mkdirSync(cache, { recursive: true });
    // GOPATH mode over Debian's packaged Go sources: no module download, no network.
    execFileSync('go', ['build', '-o', renderer, join(__dirname, 'render.go')], {
      env: { PATH: process.env.PATH, HOME: work, GO111MODULE: 'off', GOPATH, GOCACHE: cache, GOFLAGS: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }, 240000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const valuesFile = (values: Values): string => {
    const file = join(work, `values-${++files}.yaml`);
    writeFileSync(file, stringify(values));
    return file;
  };

  /** Renders with the given values files or objects; returns the error text when rendering fails. */
  const tryRender = (
    layers: (string | Values)[],
    options: { name?: string; revision?: number } = {},
  ): Rendered | { error: string } => {
    const args = ['-chart', CHART, '-name', options.name ?? 'arbor', '-namespace', 'identity'];
    if (options.revision) args.push('-revision', String(options.revision));
    for (const layer of layers) args.push('-values', typeof layer === 'string' ? layer : valuesFile(layer));
    const run = spawnSync(renderer, args, { encoding: 'utf8' });
    if (run.status !== 0) return { error: run.stderr };
    const output = JSON.parse(run.stdout) as {
      manifests: { template: string; content: string }[];
      notes: string;
    };
    const objects: Rendered['objects'] = [];
    for (const manifest of output.manifests) {
      for (const doc of parseAllDocuments(manifest.content, { uniqueKeys: true, strict: true })) {
        if (doc.errors.length > 0) {
          throw new Error(
            `${manifest.template} is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}\n${manifest.content}`,
          );
        }
        const object: unknown = doc.toJS();
        if (object === null || object === undefined) continue;
        // Which template emitted it, kept out of the object's own (schema-checked) fields.
        objects.push(
          Object.defineProperty(object as K8sObject, 'template', {
            value: manifest.template,
          }) as K8sObject & { template: string },
        );
      }
    }
    return { objects, notes: output.notes };
  };

  const render = (
    layers: (string | Values)[],
    options: { name?: string; revision?: number } = {},
  ): Rendered => {
    const result = tryRender(layers, options);
    if ('error' in result) throw new Error(`rendering failed: ${result.error}`);
    return result;
  };

  const renderError = (layers: (string | Values)[]): string => {
    const result = tryRender(layers);
    if (!('error' in result)) throw new Error('expected rendering to fail');
    return result.error;
  };

  const find = (r: Rendered, kind: string, name: string) => {
    const found = r.objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found)
      throw new Error(
        `${kind}/${name} not rendered; have ${r.objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
      );
    return found;
  };
  type Container = {
    name: string;
    command?: string[];
    env?: {
      name: string;
      value?: string;
      valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
    }[];
    envFrom?: { configMapRef?: { name: string } }[];
    securityContext?: Record<string, unknown>;
    [k: string]: unknown;
  };
  const podSpec = (o: K8sObject) =>
    (o.spec as { template: { spec: Record<string, unknown> & { containers: Container[] } } }).template.spec;

  /** Schema-checks every object and the release as a whole. */
  const expectValid = (r: Rendered, externalSecrets: Record<string, string[]> = {}) => {
    const problems = [
      ...r.objects.flatMap((o) => validateObject(o, `${o.template} ${o.kind}/${o.metadata?.name}`)),
      ...validateRelease(r.objects, externalSecrets),
    ];
    expect(problems).toEqual([]);
  };

  /**
   * The environment a container of the release would see (ConfigMaps, Secrets, $(VAR) expansion),
   * which must be one Arbor accepts at boot, naming only variables Arbor reads.
   */
  const environmentOf = (
    r: Rendered,
    container: Container,
    external: Record<string, Record<string, string>> = {},
  ) => {
    const env: Record<string, string> = {};
    for (const source of container.envFrom ?? []) {
      Object.assign(env, find(r, 'ConfigMap', source.configMapRef?.name ?? '').data);
    }
    for (const entry of container.env ?? []) {
      if (entry.value !== undefined) env[entry.name] = expandReferences(entry.value, env);
      const ref = entry.valueFrom?.secretKeyRef;
      if (!ref) continue;
      const secret = r.objects.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name);
      const value =
        secret?.data?.[ref.key] !== undefined
          ? Buffer.from(secret.data[ref.key], 'base64').toString('utf8')
          : external[ref.name]?.[ref.key];
      if (value !== undefined) env[entry.name] = value;
      else if (!ref.optional) throw new Error(`${entry.name}: no ${ref.name}/${ref.key}`);
    }
    const known = arborSettingNames();
    expect(Object.keys(env).filter((name) => !known.has(name) && !NOT_ARBOR.has(name))).toEqual([]);
    expect(() => validateEnvironment(env)).not.toThrow();
    return env;
  };

  const minimal = join(CHART, 'ci', 'minimal-values.yaml');
  const production = join(CHART, 'ci', 'production-values.yaml');

  it('documents every value it uses, with defaults in values.yaml', () => {
    const defaults = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Values;
    const templates = readdirSync(join(CHART, 'templates'))
      .map((f) => readFileSync(join(CHART, 'templates', f), 'utf8'))
      .join('\n');
    const used = new Set([...templates.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)].map((m) => m[1]));
    const missing = [...used].filter((path) => {
      let node: unknown = defaults;
      for (const part of path.split('.')) {
        if (typeof node !== 'object' || node === null || !(part in node)) return true;
        node = (node as Values)[part];
      }
      return false;
    });
    expect(missing).toEqual([]);
  });

  it('refuses to render without a database, naming what is missing', () => {
    expect(renderError([])).toContain('externalDatabase.password is required');
    expect(renderError([{ externalDatabase: { password: 'pw' } }])).toContain(
      'externalDatabase.host is required',
    );
  });

  it('refuses to render without a master key of 32+ characters (unless an existing Secret has it)', () => {
    const database = { externalDatabase: { password: 'pw', host: 'db' } };
    expect(renderError([database])).toContain('secret.secretKey is required');
    expect(renderError([database, { secret: { secretKey: 'short' } }])).toContain(
      'secret.secretKey must have at least 32 characters',
    );
  });

  it.each([
    [
      'a password with a slash',
      { externalDatabase: { password: 'a/b' } },
      'externalDatabase.password must not contain "/"',
    ],
    [
      'an unknown dialect',
      { externalDatabase: { dialect: 'postgres' } },
      'externalDatabase.dialect must be mysql or mariadb',
    ],
    ['no image repository', { image: { repository: '' } }, 'image.repository is required'],
    [
      'Redis AUTH without a password',
      { externalRedis: { host: 'redis', auth: { enabled: true } } },
      'externalRedis.auth.password is required',
    ],
    [
      'a short metrics token',
      { secret: { metricsToken: 'short' } },
      'secret.metricsToken must have at least 16 characters',
    ],
    [
      'TLS without a secret',
      { ingress: { enabled: true, tls: [{ hosts: ['id.example.com'] }] } },
      'ingress.tls[].secretName is required',
    ],
    [
      'an ingress host without a name',
      { ingress: { enabled: true, hosts: [{ paths: [{ path: '/' }] }] } },
      'ingress.hosts[].host is required',
    ],
    [
      'an autoscaler maximum below its minimum',
      { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 2 } },
      'autoscaling.maxReplicas must be at least autoscaling.minReplicas',
    ],
  ])('fails clearly on %s', (_what, values, message) => {
    expect(renderError([minimal, values])).toContain(message);
  });

  it('renders the minimal release: valid objects, migration as a hook, no worker', () => {
    const r = render([minimal]);
    expectValid(r);
    expect(r.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/arbor',
      'Deployment/arbor-api',
      'Job/arbor-migrate',
      'PodDisruptionBudget/arbor-api',
      'Secret/arbor',
      'Secret/arbor-migration',
      'Service/arbor',
      'ServiceAccount/arbor',
    ]);
    const api = find(r, 'Deployment', 'arbor-api');
    expect(api.spec?.replicas).toBe(2);
    const container = podSpec(api).containers[0];
    expect(container.command).toEqual(['node', 'dist/main.js']);
    const env = environmentOf(r, container);
    expect(env.DATABASE_URL).toBe(
      'mysql://arbor:minimal-db-pass@mysql.databases.svc.cluster.local:3306/arbor',
    );
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.BASE_URL).toBe('http://arbor.identity.svc');
    expect(env.METRICS_ENABLED).toBe('true');
    // The password reaches the pod through the Secret, never in the pod spec.
    expect(JSON.stringify(api)).not.toContain('minimal-db-pass');

    const job = find(r, 'Job', 'arbor-migrate');
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const migrate = podSpec(job).containers[0];
    expect(migrate.command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(migrate.envFrom).toBeUndefined();
    expect(environmentOf(r, migrate).DATABASE_URL).toBe(env.DATABASE_URL);
    expect(r.notes).toContain('http://arbor.identity.svc');
  });

  it('runs every container as non-root on a read-only root filesystem, with probes on the API', () => {
    for (const values of [[minimal], [production], [minimal, { worker: { enabled: true } }]]) {
      const r = render(values);
      for (const owner of r.objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job')) {
        const spec = podSpec(owner);
        expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
        expect(spec.automountServiceAccountToken).toBe(false);
        for (const container of spec.containers) {
          expect(container.securityContext).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          });
          expect(container.resources).toMatchObject({
            requests: { cpu: expect.any(String), memory: expect.any(String) },
          });
        }
      }
      const api = podSpec(find(r, 'Deployment', 'arbor-api')).containers[0];
      expect(api).toMatchObject({
        livenessProbe: { httpGet: { path: '/ping/', port: 'http' } },
        readinessProbe: { httpGet: { path: '/ready/', port: 'http' } },
        startupProbe: { httpGet: { path: '/ping/', port: 'http' } },
      });
    }
  });

  it('renders the production-like values: existing Secret, Redis, TLS ingress, autoscaler, ServiceMonitor', () => {
    const r = render([production], { name: 'arbor-prod' });
    const existing = {
      'arbor-secrets': {
        'database-password': 'db-Pass-1',
        'redis-password': 'redisPass2',
        'admin-password': 'Admin-pass-2026',
        'metrics-token': 'scrape-token-0123456789',
        'secret-key': 'production-master-key-0123456789abcdef',
      },
    };
    expectValid(r, { 'arbor-secrets': Object.keys(existing['arbor-secrets']) });
    expect(r.objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const api = find(r, 'Deployment', 'arbor-prod-api');
    expect(api.spec?.replicas).toBeUndefined();
    const spec = podSpec(api);
    expect(spec.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
    expect(spec.containers[0].image).toBe('registry.example.com/platform/arbor:0.1.0');
    const env = environmentOf(r, spec.containers[0], existing);
    expect(env).toMatchObject({
      BASE_URL: 'https://id.example.com',
      DATABASE_URL: 'mysql://arbor:db-Pass-1@mysql-primary.databases.svc.cluster.local:3306/arbor',
      REDIS_URL: 'redis://:redisPass2@redis-master.cache.svc.cluster.local:6379/2',
      TRUST_PROXY: '10.0.0.0/8',
      LOGIN_LOCKOUT_THRESHOLD: '8',
      SWAGGER_ENABLED: 'false',
      DATABASE_POOL_SIZE: '20',
      ADMIN_PASSWORD: 'Admin-pass-2026',
      METRICS_TOKEN: 'scrape-token-0123456789',
    });
    expect(find(r, 'Ingress', 'arbor-prod').spec).toMatchObject({
      ingressClassName: 'nginx',
      tls: [{ secretName: 'arbor-tls', hosts: ['id.example.com'] }],
    });
    expect(find(r, 'HorizontalPodAutoscaler', 'arbor-prod-api').spec).toMatchObject({
      minReplicas: 3,
      maxReplicas: 12,
    });
    expect(find(r, 'PodDisruptionBudget', 'arbor-prod-api').spec).toMatchObject({ minAvailable: 2 });
    expect(find(r, 'ServiceMonitor', 'arbor-prod').spec).toMatchObject({
      endpoints: [
        {
          port: 'http',
          path: '/metrics',
          bearerTokenSecret: { name: 'arbor-secrets', key: 'metrics-token' },
        },
      ],
    });
    // The migration hook reads the operator's Secret, which exists before the release.
    const migrate = podSpec(find(r, 'Job', 'arbor-prod-migrate')).containers[0];
    expect(environmentOf(r, migrate, existing).DATABASE_URL).toBe(env.DATABASE_URL);
  });

  it('points at the quick-start subcharts and migrates in a plain Job named per revision', () => {
    const values = {
      mysql: { enabled: true, auth: { password: 'qs-pass' } },
      redis: { enabled: true, auth: { password: 'qs-redis' } },
      secret: { secretKey: 'quick-start-master-key-0123456789' },
    };
    const r = render([values], { revision: 3 });
    const external = {
      'arbor-mysql': { 'mysql-password': 'qsPass1' },
      'arbor-redis': { 'redis-password': 'qsRedis2' },
    };
    expectValid(r, { 'arbor-mysql': ['mysql-password'], 'arbor-redis': ['redis-password'] });
    const env = environmentOf(r, podSpec(find(r, 'Deployment', 'arbor-api')).containers[0], external);
    expect(env.DATABASE_URL).toBe('mysql://arbor:qsPass1@arbor-mysql:3306/arbor');
    expect(env.REDIS_URL).toBe('redis://:qsRedis2@arbor-redis-master:6379/0');
    const job = find(r, 'Job', 'arbor-migrate-3');
    expect(job.metadata.annotations?.['helm.sh/hook']).toBeUndefined();
    expect(r.objects.some((o) => o.metadata.name === 'arbor-migration')).toBe(false);
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as {
      dependencies: { name: string; condition: string }[];
    };
    expect(chart.dependencies.map((d) => [d.name, d.condition])).toEqual([
      ['mysql', 'mysql.enabled'],
      ['redis', 'redis.enabled'],
    ]);
  });

  it('deploys the worker by default whenever Redis is configured, and none without Redis', () => {
    const defaults = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as {
      worker: { enabled: boolean };
    };
    expect(existsSync(join(ROOT, 'src', 'worker.ts'))).toBe(true);
    expect(defaults.worker.enabled).toBe(true);
    // No Redis: the API runs the jobs in-process, so there is nothing for a worker to consume.
    const withoutRedis = render([minimal]);
    expect(withoutRedis.objects.some((o) => o.metadata.name === 'arbor-worker')).toBe(false);
    expect(withoutRedis.notes).toContain('the API pods run background jobs themselves');
    expect(
      render([minimal, { worker: { enabled: false }, externalRedis: { host: 'redis.cache' } }]).objects.some(
        (o) => o.metadata.name === 'arbor-worker',
      ),
    ).toBe(false);
    const r = render([minimal, { externalRedis: { host: 'redis.cache' } }]);
    expectValid(r);
    const worker = podSpec(find(r, 'Deployment', 'arbor-worker')).containers[0];
    expect(worker.command).toEqual(['node', 'dist/worker.js']);
    expect(environmentOf(r, worker).REDIS_URL).toBe('redis://redis.cache:6379/0');
    expect(r.notes).toContain('dist/worker.js');
  });

  it('rolls the pods when the settings change', () => {
    const checksum = (r: Rendered) =>
      find(r, 'Deployment', 'arbor-api').spec?.template as {
        metadata: { annotations: Record<string, string> };
      };
    const before = checksum(render([minimal])).metadata.annotations['checksum/config'];
    const after = checksum(render([minimal, { config: { logLevel: 'debug' } }])).metadata.annotations[
      'checksum/config'
    ];
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    expect(after).not.toBe(before);
  });

  it('renders every template in at least one of the releases above', () => {
    const releases = [
      render([minimal]),
      render([production]),
      render([minimal, { worker: { enabled: true } }]),
    ];
    const rendered = new Set(
      releases.flatMap((r) => r.objects.map((o) => o.template.replace(/^arbor\//, ''))),
    );
    const templates = readdirSync(join(CHART, 'templates'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `templates/${f}`);
    expect(templates.filter((t) => !rendered.has(t))).toEqual([]);
  });

  it('has a schema check that catches broken objects', () => {
    const r = render([minimal]);
    const api = structuredClone(find(r, 'Deployment', 'arbor-api'));
    const spec = podSpec(api);
    spec.containers[0].ports = [{ name: 'http-with-a-long-name', containerPort: 80000 }];
    (spec.containers[0] as Record<string, unknown>).readinessprobe = {};
    spec.containers[0].env?.push({ name: 'PORT', value: 8000 as unknown as string });
    spec.containers[0].securityContext = { runAsNonRoot: 'yes' };
    const problems = validateObject(api, 'broken');
    expect(problems.join('\n')).toMatch(/containerPort: 80000 is above 65535/);
    expect(problems.join('\n')).toMatch(/"http-with-a-long-name" is longer than 15/);
    expect(problems.join('\n')).toMatch(/unknown field "readinessprobe"/);
    expect(problems.join('\n')).toMatch(/names port "http", which the container does not declare/);
    expect(problems.join('\n')).toMatch(/env\[\d+\]\.value: must be a string/);
    expect(problems.join('\n')).toMatch(/runAsNonRoot: must be a boolean/);

    const config = structuredClone(find(r, 'ConfigMap', 'arbor'));
    (config.data as Record<string, unknown>).PORT = 8000;
    expect(validateObject(config, 'config')).toEqual(['config: data.PORT: must be a string, not 8000']);

    // A hook that reads the release's ordinary Secret would start before that Secret exists.
    const job = structuredClone(find(r, 'Job', 'arbor-migrate'));
    const ref = podSpec(job).containers[0].env?.find((e) => e.valueFrom?.secretKeyRef)?.valueFrom
      ?.secretKeyRef;
    if (ref) ref.name = 'arbor';
    const others = r.objects.filter((o) => o.kind !== 'Job');
    expect(validateRelease([...others, job]).join('\n')).toMatch(
      /reads Secret "arbor", which does not exist yet/,
    );
    expect(validateRelease(others.filter((o) => o.kind !== 'Deployment')).join('\n')).toMatch(
      /Service\/arbor: selects no pods/,
    );
  });
});
