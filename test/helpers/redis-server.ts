import { spawnRedisServer, type RedisServerProcess, type SpawnRedisOptions } from '../../tools/redis-process.js';

export { freePort } from '../../tools/redis-process.js';

/** A redis-server process started by a test on a free loopback port. */
export type PrivateRedisServer = RedisServerProcess;

/**
 * Starts a private `redis-server` (persistence off unless `appendonly`), waits until it answers, and returns handles
 * to kill, restart and stop it. Fails with a clear message when redis-server is not installed.
 */
export function startPrivateRedis(
  options: Pick<SpawnRedisOptions, 'appendonly' | 'port'> = {},
): Promise<PrivateRedisServer> {
  return spawnRedisServer(options);
}
