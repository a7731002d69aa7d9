import type { RedisConnection } from '../options.js';
import type { Broker } from './broker.js';
import { RedisBroker } from './redis/redis-broker.js';

/**
 * The broker a connection option describes: Redis (a URL, options, a cluster, a sentinel set, or an instance the
 * caller owns and keeps owning).
 * @param role names the connections it creates (CLIENT LIST), e.g. `taskq:worker`
 */
export function openBroker(connection: RedisConnection | undefined, prefix: string, role: string): Broker {
  return RedisBroker.open(connection, prefix, role);
}
