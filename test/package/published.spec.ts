/**
 * The package as published: packed from a fresh copy of the tree (no dist/, so `prepack` has to build), installed
 * from the tarball into temporary apps in os.tmpdir(), and used there as users would: imported and required from
 * plain Node, its bin run through npx, a consumer type-checked with tsc, a CommonJS Nest app compiled and booted.
 * Entry points and bins come from package.json's `exports` and `bin`, so new ones are held to the same checks.
 * The runtime steps also run on the lowest Node that `engines.node` admits, from the npm package of Node's binary.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupPrefix, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import {
  binaries,
  childEnv,
  copyFreshClone,
  entryPoints,
  installApp,
  lowestNode,
  npmPack,
  readPackageJson,
  repoRoot,
  repoVersion,
  run,
} from './packed-app.js';

const pkg = readPackageJson();
const entries = entryPoints(pkg);
const bins = Object.entries(binaries(pkg));
const minimum = lowestNode(pkg.engines?.node ?? '');
/** Node's own binaries are published on npm as node-<platform>-<arch> (the `node` package installs them). */
const nodeBinaryPackage =
  process.platform === 'linux' || process.platform === 'darwin'
    ? `node-${process.platform}-${process.arch}`
    : undefined;

interface NodeUnderTest {
  label: string;
  /** Path of the node binary (filled in by beforeAll for the minimum). */
  path: string;
}
const nodes: NodeUnderTest[] = [{ label: `Node ${process.version}`, path: process.execPath }];
const minimumNode: NodeUnderTest = { label: `Node v${minimum} (minimum)`, path: '' };
if (process.version !== `v${minimum}` && (process.env.TASKQ_MIN_NODE || nodeBinaryPackage)) nodes.push(minimumNode);
if (nodes.length === 1 && process.version !== `v${minimum}`) {
  console.warn(
    `published.spec: no Node v${minimum} binary for ${process.platform}-${process.arch}; set TASKQ_MIN_NODE`,
  );
}

let work = '';
let app = '';
let coreApp = '';
let packed: { tarball: string; files: string[] } = { tarball: '', files: [] };
const prefix = uniquePrefix('pkg');

function node(n: NodeUnderTest, args: string[], cwd: string, env: Record<string, string> = {}): string {
  return run(n.path, args, cwd, childEnv({ REDIS_URL: testRedisUrl(), TASKQ_PREFIX: prefix, ...env }));
}

/** The last line of a child's stdout, parsed: the children print one JSON line at the end. */
function lastJson<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'taskq-published-'));
  const clone = join(work, 'clone');
  copyFreshClone(clone);
  packed = npmPack(clone, work);

  // The peers at the versions the repo tests with (npm's cache has them), TypeScript and Node's types for tsc.
  const peers = Object.keys(pkg.peerDependencies ?? {}).map(
    (p) => `${p}@${repoVersion(p) ?? pkg.peerDependencies?.[p]}`,
  );
  const tools = ['typescript', '@types/node'].map((p) => `${p}@${repoVersion(p)}`);
  app = join(work, 'app');
  installApp(app, { name: 'taskq-esm-app', private: true, type: 'module' }, [packed.tarball, ...peers, ...tools]);
  // A plain Node app: the package alone (npm adds its one required peer, ioredis), no Nest, no rxjs.
  coreApp = join(work, 'core-app');
  installApp(coreApp, { name: 'taskq-core-app', private: true, type: 'module' }, [packed.tarball]);

  if (nodes.includes(minimumNode)) {
    if (process.env.TASKQ_MIN_NODE) minimumNode.path = process.env.TASKQ_MIN_NODE;
    else {
      const dir = join(work, 'min-node');
      installApp(dir, { name: 'min-node', private: true }, [`${nodeBinaryPackage}@${minimum}`]);
      minimumNode.path = join(dir, 'node_modules', nodeBinaryPackage ?? '', 'bin', 'node');
    }
    expect(run(minimumNode.path, ['--version'], work).trim()).toBe(`v${minimum}`);
  }
}, 240_000);

afterAll(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  const redis = testRedis();
  await cleanupPrefix(redis, prefix);
  redis.disconnect();
});

describe('the published package', () => {
  it('npm pack on a fresh clone builds (prepack) and ships every entry point, bin and Lua script, and no sources', () => {
    const files = new Set(packed.files);
    const targets = [...Object.values(pkg.exports ?? {}).flatMap(exportTargets), ...bins.map(([, path]) => path)];
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(files, `exports/bin target ${target}`).toContain(target.replace(/^\.\//, ''));
    const lua = luaFiles(join(repoRoot, 'lib/core/broker/redis/scripts')).map(
      (f) => `dist/core/broker/redis/scripts/${f}`,
    );
    expect(lua.length).toBeGreaterThan(0);
    for (const f of lua) expect(files).toContain(f);
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    const unexpected = packed.files.filter(
      (f) => /^(lib|test|tools|bench|sample)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')),
    );
    expect(unexpected).toEqual([]);
  });

  it.each(nodes)('$label imports and requires every entry point of exports, one module instance each', (n) => {
    // `node -e` is CommonJS: require() goes through require(esm), import() through the ESM loader.
    const script = `(async () => {
      const out = {};
      for (const spec of JSON.parse(process.argv[1])) {
        const required = require(spec);
        const imported = await import(spec);
        const names = Object.keys(imported).filter((k) => k !== 'default' && k !== 'module.exports').sort();
        out[spec] = { names, same: names.every((k) => required[k] === imported[k]) };
      }
      console.log(JSON.stringify({ version: process.version, out }));
    })().catch((err) => { console.error(err); process.exit(1); });`;
    const { version, out } = lastJson<{ version: string; out: Record<string, { names: string[]; same: boolean }> }>(
      node(n, ['-e', script, JSON.stringify(entries)], app),
    );
    expect(version).toBe(n === minimumNode ? `v${minimum}` : process.version);
    expect(Object.keys(out)).toEqual(entries);
    for (const spec of entries) {
      expect(out[spec].names.length, spec).toBeGreaterThan(0);
      expect(out[spec].same, `${spec}: require() and import() must give the same module`).toBe(true);
    }
    expect(out[pkg.name].names).toEqual(
      expect.arrayContaining(['TaskqServer', 'TaskqClient', 'TaskqModule', 'TaskHandler', 'TaskClient', 'TaskqError']),
    );
    expect(out[`${pkg.name}/core`].names).toEqual(
      expect.arrayContaining(['TaskClient', 'TaskWorker', 'TaskInspector', 'TaskScheduler', 'TaskqError']),
    );
    expect(out[`${pkg.name}/core`].names).not.toContain('TaskqServer');
  });

  it.each(nodes)('$label runs a task through nestjs-taskq/core in an app without any @nestjs package or rxjs', (n) => {
    expect(existsSync(join(coreApp, 'node_modules/@nestjs'))).toBe(false);
    expect(existsSync(join(coreApp, 'node_modules/rxjs'))).toBe(false);
    const script = `
      import { TaskClient, TaskWorker } from '${pkg.name}/core';
      const prefix = process.env.TASKQ_PREFIX + ':core';
      const worker = new TaskWorker({ prefix, concurrency: 1 });
      worker.handle('math:double', (task) => task.payload * 2);
      await worker.start();
      const client = new TaskClient({ prefix });
      const { result } = await client.enqueueAndWait('math:double', 21, {}, { timeout: '10s' });
      const value = await result;
      await worker.shutdown();
      await client.close();
      console.log(JSON.stringify({ value }));`;
    const { value } = lastJson<{ value: number }>(node(n, ['--input-type=module', '-e', script], coreApp));
    expect(value).toBe(42);
  });

  if (bins.length === 0) {
    it.skip('npx <bin> --help: skipped, package.json declares no "bin" yet (the taskq CLI will add one)', () => {});
  } else {
    const binCases = bins.flatMap(([name, path]) => nodes.map((n) => ({ name, path, node: n, label: n.label })));
    it.each(binCases)('$name --help exits 0 with a usage text on $label', ({ name, path, node: n }) => {
      // This Node: through npx, as a user would. The minimum: the bin's file run by that node directly.
      const out =
        n === minimumNode
          ? node(n, [join(app, 'node_modules', pkg.name, path), '--help'], app)
          : run('npx', ['--no-install', name, '--help'], app, childEnv());
      expect(out.trim().length).toBeGreaterThan(0);
    });
  }

  it('a consumer type-checks against the installed declarations (tsc, strict, NodeNext, skipLibCheck off)', () => {
    cpSync(join(repoRoot, 'test/package/fixtures/consumer.ts'), join(app, 'consumer.ts'));
    // Every entry point of exports, also those added later, must resolve to declarations.
    const imports = entries.map((spec, i) => `import * as entry${i} from '${spec}';`).join('\n');
    writeFileSync(join(app, 'entries.ts'), `${imports}\nexport const all = [${entries.map((_, i) => `entry${i}`)}];\n`);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'ES2023',
          lib: ['ES2023'],
          types: ['node'],
          strict: true,
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['consumer.ts', 'entries.ts'],
      }),
    );
    run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', '.', '--pretty', 'false'], app);
  });
});

const variants = [
  { tsconfig: 'tsconfig.nest-cjs.json', out: 'dist-nest-cjs', what: 'nest new --type cjs' },
  { tsconfig: 'tsconfig.commonjs.json', out: 'dist-commonjs', what: 'module commonjs' },
];
const compiled = new Map<string, string>();

/** Compiles the CommonJS app with one tsconfig (once), returning its main.js. */
function compileCjsApp(variant: (typeof variants)[number]): string {
  const dir = join(app, 'cjs-app');
  if (!existsSync(dir)) cpSync(join(repoRoot, 'test/package/fixtures/cjs-app'), dir, { recursive: true });
  const cached = compiled.get(variant.tsconfig);
  if (cached) return cached;
  run(
    process.execPath,
    [join(app, 'node_modules/typescript/bin/tsc'), '-p', variant.tsconfig, '--pretty', 'false'],
    dir,
  );
  const main = join(dir, variant.out, 'main.js');
  compiled.set(variant.tsconfig, main);
  return main;
}

describe('a CommonJS Nest app (no "type": "module") using the package through require(esm)', () => {
  const cases = variants.flatMap((variant) => nodes.map((n) => ({ ...variant, node: n, label: n.label })));

  it.each(cases)('compiled with $what, boots on $label, processes one task and exits', (c) => {
    const main = compileCjsApp(c);
    const js = readFileSync(main, 'utf8');
    expect(js).toContain(`require("${pkg.name}")`);
    expect(js).toContain(`require("${pkg.name}/core")`);
    const out = node(c.node, [main], join(app, 'cjs-app'));
    expect(lastJson(out)).toEqual({ result: 42, processed: expect.any(Number), commonjs: true });
    expect(lastJson<{ processed: number }>(out).processed).toBeGreaterThanOrEqual(1);
  });
});

/** The file paths of an exports entry (a string, or nested conditions). */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

function luaFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.lua'))
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}
