import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** Dockerfile instructions with continuation lines joined and comments dropped, numbered by stage. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  let stage = -1;
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    if (match[1] === 'FROM') stage += 1;
    out.push({ op: match[1], args: match[2].trim(), stage });
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory()
      ? sourceFiles(path)
      : path.endsWith('.ts') && !path.endsWith('.spec.ts')
        ? [path]
        : [];
  });
}

/** The image, checked without a Docker engine: stages, user, entry points, context and dependencies. */
describe('Dockerfile', () => {
  const all = instructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const lastStage = Math.max(...all.map((i) => i.stage));
  const final = all.filter((i) => i.stage === lastStage);
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    engines: { node: string };
  };

  it('builds in one stage and runs from a slim one, on a Node that meets the engines field', () => {
    expect(lastStage).toBeGreaterThanOrEqual(1);
    const image = /^ARG NODE_IMAGE=node:(\d+)\.(\d+)-bookworm-slim$/.exec(
      all.find((i) => i.op === 'ARG')?.args.replace(/^/, 'ARG ') ?? '',
    );
    expect(image).not.toBeNull();
    const [, major, minor] = image as RegExpExecArray;
    const [, wantMajor, wantMinor] = /^>=(\d+)\.(\d+)/.exec(pkg.engines.node) as RegExpExecArray;
    expect(Number(major) * 1000 + Number(minor)).toBeGreaterThanOrEqual(
      Number(wantMajor) * 1000 + Number(wantMinor),
    );
    // The runtime stage gets the build's output, not its compilers or dev dependencies.
    expect(
      final
        .filter((i) => i.op === 'RUN')
        .map((i) => i.args)
        .join(' '),
    ).not.toMatch(/npm (install|ci)|g\+\+|python3/);
    expect(all.some((i) => i.stage < lastStage && /npm prune --omit=dev/.test(i.args))).toBe(true);
    expect(final.filter((i) => i.op === 'COPY').map((i) => i.args)).toEqual([
      '--from=build /app/package.json ./package.json',
      '--from=build /app/node_modules ./node_modules',
      '--from=build /app/dist ./dist',
    ]);
  });

  it('runs as a numeric non-root user under tini, serving the API by default', () => {
    const user = final.filter((i) => i.op === 'USER').pop()?.args;
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(final.find((i) => i.op === 'ENTRYPOINT')?.args).toBe('["/usr/bin/tini", "--"]');
    expect(final.find((i) => i.op === 'CMD')?.args).toBe('["node", "dist/main.js"]');
    expect(final.find((i) => i.op === 'STOPSIGNAL')?.args).toBe('SIGTERM');
    expect(final.find((i) => i.op === 'EXPOSE')?.args).toBe('8000');
    expect(final.find((i) => i.op === 'ENV')?.args).toMatch(/PORT=8000/);
    expect(final.find((i) => i.op === 'HEALTHCHECK')?.args).toContain("/ping/'");
    // The other processes of the same image: the CLI (migrations) and, with issue 8, the worker.
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: './src', outDir: './dist' });
    for (const entry of ['main.ts', 'cli.ts']) expect(existsSync(join(ROOT, 'src', entry))).toBe(true);
  });

  it('copies only files that exist and that .dockerignore lets through, and keeps secrets out', () => {
    const sources = all
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.sort()).toEqual([
      '.npmrc',
      'nest-cli.json',
      'package-lock.json',
      'package.json',
      'src',
      'tsconfig.json',
    ]);
    for (const source of sources) {
      expect([source, existsSync(join(ROOT, source))]).toEqual([source, true]);
      expect([source, ignore.includes(source)]).toEqual([source, false]);
    }
    for (const excluded of ['**/node_modules', 'dist', 'data', '.env', '**/.env', '.git', '*.sqlite'])
      expect(ignore).toContain(excluded);
  });

  it('has every package the server imports among the runtime dependencies (dev ones are pruned)', () => {
    const builtins = new Set(builtinModules);
    const missing = new Set<string>();
    for (const file of sourceFiles(join(ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const [, typeOnly, spec] of text.matchAll(
        /^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gm,
      )) {
        if (typeOnly || spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!(name in pkg.dependencies)) missing.add(`${name} (${relative(ROOT, file)})`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});
