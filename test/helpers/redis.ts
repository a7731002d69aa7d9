import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis URL chosen by the global setup (REDIS_URL, 127.0.0.1:6379 or a private server). */
export function testRedisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run the tests through vitest (npm test)');
  return url;
}

/** A key prefix no other test uses, so tests can run in parallel against one Redis. */
export function uniquePrefix(label = 't'): string {
  return `tq-test-${label}-${randomBytes(5).toString('hex')}`;
}

/** A plain ioredis client to the test Redis, for seeding and asserting state. */
export function testRedis(url = testRedisUrl()): Redis {
  return new Redis(url, { maxRetriesPerRequest: 3 });
}

/** Deletes every key under `prefix` (SCAN + UNLINK). */
export async function cleanupPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
