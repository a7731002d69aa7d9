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
      );
    }
  }
  process.env.REDIS_URL = url;
  project.provide('redisUrl', url);
}

export async function teardown(): Promise<void> {
  await privateServer?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
