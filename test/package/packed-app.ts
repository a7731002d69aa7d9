/**
 * Helpers of the published-package test: pack the package as a fresh clone would (no dist/, so `prepack` must
 * build it), install the tarball into temporary apps outside the repo, and run commands there.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The fields of package.json the test reads. */
export interface PackageJson {
  name: string;
  version: string;
  engines?: { node?: string };
  exports?: Record<string, unknown>;
  bin?: string | Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export function readPackageJson(dir = repoRoot): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** The import specifiers of every entry point in `exports` (`nestjs-taskq`, `nestjs-taskq/core`, ...). */
export function entryPoints(pkg: PackageJson): string[] {
  return Object.keys(pkg.exports ?? { '.': null })
    .filter((subpath) => subpath !== './package.json' && !subpath.includes('*'))
    .map((subpath) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`));
}

/** The commands of `bin` by name (a string `bin` is named after the package). */
export function binaries(pkg: PackageJson): Record<string, string> {
  if (pkg.bin === undefined) return {};
  return typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : pkg.bin;
}

/** The lowest version `engines.node` admits: the smallest x.y.z it names (`^20.19.0 || ^22.12.0 || >=24` → 20.19.0). */
export function lowestNode(range: string): string {
  const versions = [...range.matchAll(/(\d+)(?:\.(\d+))?(?:\.(\d+))?/g)].map((m) => [
    Number(m[1]),
    Number(m[2] ?? 0),
    Number(m[3] ?? 0),
  ]);
  if (versions.length === 0) throw new Error(`engines.node "${range}" names no version`);
  versions.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  return versions[0].join('.');
}

/**
 * The environment for child npm and node processes: without the variables `npm test` sets for this package
 * (npm_package_*, npm_lifecycle_*), which would otherwise leak into the temporary apps' own npm runs.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_(package|lifecycle)_|^INIT_CWD$/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs a command; throws with its output when it exits non-zero. */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(describeFailure(cmd, args, r));
  return r.stdout;
}

/** Runs a command and returns its whole result, for tests that assert on failures too. */
export function runResult(cmd: string, args: string[], cwd: string, env = childEnv()): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
}

function describeFailure(cmd: string, args: string[], r: SpawnSyncReturns<string>): string {
  const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
  return `${cmd} ${args.join(' ')} failed (${why})\n${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim();
}

/**
 * Copies the files a fresh clone would have (tracked and untracked-but-not-ignored files of the working tree, so
 * uncommitted edits count) to `dest`, and links the repo's node_modules (the build's tools) into it.
 */
export function copyFreshClone(dest: string): void {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  for (const file of listed.split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    try {
      cpSync(join(repoRoot, file), join(dest, file));
    } catch (err) {
      // A tracked file deleted in the working tree is not part of the clone-to-be.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dest, 'node_modules'), 'dir');
}

/** One file of `npm pack --json`. */
export interface PackedFile {
  path: string;
}

/** Runs `npm pack` in `dir` (scripts included: prepack builds), writing the tarball to `out`. */
export function npmPack(dir: string, out: string): { tarball: string; files: string[] } {
  const json = run('npm', ['pack', '--json', '--pack-destination', out], dir);
  // prepack's own output comes first; the JSON report is the last thing printed.
  const report = JSON.parse(json.slice(json.lastIndexOf('\n[') + 1)) as { filename: string; files: PackedFile[] }[];
  return { tarball: join(out, report[0].filename), files: report[0].files.map((f) => f.path) };
}

/** The version of `name` the repo's node_modules holds, so installs hit npm's cache. */
export function repoVersion(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as PackageJson)
      .version;
  } catch {
    return undefined;
  }
}

/** Writes `package.json` and runs `npm install` of `specs` in `dir`. */
export function installApp(dir: string, packageJson: object, specs: string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify(packageJson, null, 2));
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel=error', ...specs],
    dir,
  );
}
