import type { RedisConnection } from '../options.js';
import type { Broker } from './broker.js';
import { describeConnectionOption } from './redis/connection.js';
import { RedisBroker } from './redis/redis-broker.js';

/**
 * The broker a connection option describes: Redis (a URL, options, a cluster, a sentinel set, or an instance the
 * caller owns and keeps owning).
 * @param role names the connections it creates (CLIENT LIST), e.g. `taskq:worker`
 */
export function openBroker(connection: RedisConnection | undefined, prefix: string, role: string): Broker {
  return RedisBroker.open(connection, prefix, role);
}

/** Where a connection option points, without credentials (to compare two configurations, and for messages). */
export function describeConnection(connection: RedisConnection | undefined): string {
  return describeConnectionOption(connection);
}
