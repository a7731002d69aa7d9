import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';
import { startPrivateRedis, type PrivateRedisServer } from './redis-server.js';

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

let privateServer: PrivateRedisServer | undefined;

/**
 * Finds the Redis the tests use: REDIS_URL, else 127.0.0.1:6379, else a private redis-server on a free port that is
 * stopped after the run. Without any, the run fails at once and says how to get one.
 */
export async function setup(project: TestProject): Promise<void> {
  const candidates = [process.env.REDIS_URL, 'redis://127.0.0.1:6379'].filter((u): u is string => Boolean(u));
  let url: string | undefined;
  for (const candidate of candidates) {
    if (await answers(candidate)) {
      url = candidate;
      break;
    }
  }
  if (!url) {
    try {
      privateServer = await startPrivateRedis();
      url = privateServer.url;
    } catch (err) {
      throw new Error(
        `No Redis for the tests: nothing answered at ${candidates.join(' or ')}, and starting redis-server failed ` +
          `(${(err as Error).message}). Set REDIS_URL, or install Redis 6.2+ (apt-get install redis-server).`,
        { cause: err },
      );
    }
  }
  process.env.REDIS_URL = url;
  project.provide('redisUrl', url);
  project.provide('coreDist', compileCoreForChildren());
}

/**
 * Compiles lib/core to plain JS once per run, for tests that run the engine in child processes (a worker killed
 * with SIGKILL, several schedulers): children run `node` on it without any TypeScript loader.
 */
function compileCoreForChildren(): string {
  const outDir = resolve('node_modules/.cache/taskq-test-dist');
  try {
    execFileSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.child.json'], { stdio: 'pipe' });
  } catch (err) {
    // Type errors still emit JavaScript; the type check proper is `npm run typecheck`.
    const out = String((err as { stdout?: Buffer }).stdout ?? '');
    console.warn(`tsc reported problems while compiling lib/core for child processes:\n${out.slice(0, 2000)}`);
  }
  cpSync('lib/core/broker/scripts', resolve(outDir, 'core/broker/scripts'), { recursive: true });
  return resolve(outDir, 'core/index.js');
}

export async function teardown(): Promise<void> {
  await privateServer?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** Absolute path of the compiled lib/core/index.js, for child processes. */
    coreDist: string;
  }
}
