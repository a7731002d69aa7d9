import type { RedisConnection } from '../options.js';
import type { Broker } from './broker.js';
import { MemoryBroker } from './memory/memory-broker.js';
import { isMemoryConnection, memoryStoreName } from './memory/registry.js';
import { describeConnectionOption } from './redis/connection.js';
import { RedisBroker } from './redis/redis-broker.js';

export { isMemoryConnection } from './memory/registry.js';

/**
 * The broker a connection option describes: the in-memory backend for `memory://` or `memory://NAME` (a store per
 * name, shared by every object of the process on that name), else Redis (a URL, options, a cluster, a sentinel set,
 * or an instance the caller owns and keeps owning).
 * @param role names the connections it creates (CLIENT LIST), e.g. `taskq:worker`
 * @throws InvalidOptionError naming `connection` for a `memory:` string that is not `memory://` or `memory://NAME`
 */
export function openBroker(connection: RedisConnection | undefined, prefix: string, role: string): Broker {
  if (isMemoryConnection(connection)) return MemoryBroker.open(connection, prefix);
  return RedisBroker.open(connection, prefix, role);
}

/** Where a connection option points, without credentials (to compare two configurations, and for messages). */
export function describeConnection(connection: RedisConnection | undefined): string {
  if (isMemoryConnection(connection)) {
    try {
      return `memory://${memoryStoreName(connection)}`;
    } catch {
      return connection;
    }
  }
  return describeConnectionOption(connection);
}
