import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { findOrStartRedis, type FoundRedis } from '../../tools/redis-process.js';

let found: FoundRedis | undefined;

/**
 * Finds the Redis the tests use: REDIS_URL, else 127.0.0.1:6379, else a private redis-server on a free port that is
 * stopped after the run. Without any, the run fails at once and says how to get one.
 */
export async function setup(project: TestProject): Promise<void> {
  found = await findOrStartRedis();
  process.env.REDIS_URL = found.url;
  project.provide('redisUrl', found.url);
  project.provide('coreDist', compileCoreForChildren());
}

export async function teardown(): Promise<void> {
  await found?.stop();
}

/**
 * Compiles lib/core to plain JS once per run, for tests that run the engine in child processes (a worker killed
 * with SIGKILL, several schedulers): children run `node` on it without any TypeScript loader.
 */
function compileCoreForChildren(): string {
  const outDir = resolve('node_modules/.cache/taskq-test-dist');
  // Files of an older tree must not linger next to the new ones.
  rmSync(outDir, { recursive: true, force: true });
  try {
    execFileSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.child.json'], {
      stdio: 'pipe',
    });
  } catch (err) {
    // Type errors still emit JavaScript; the type check proper is `npm run typecheck`.
    const out = String((err as { stdout?: Buffer }).stdout ?? '');
    console.warn(`tsc reported problems while compiling lib/core for child processes:\n${out.slice(0, 2000)}`);
  }
  cpSync('lib/core/broker/redis/scripts', resolve(outDir, 'core/broker/redis/scripts'), { recursive: true });
  return resolve(outDir, 'core/index.js');
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** Absolute path of the compiled lib/core/index.js, for child processes. */
    coreDist: string;
  }
}
