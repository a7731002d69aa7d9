import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConnection } from '../../options.js';

/** An ioredis client (standalone, sentinel or cluster). */
export type RedisClient = Redis | Cluster;

/** A client together with whether the library created it (and so must close it). */
export interface OwnedClient {
  client: RedisClient;
  owned: boolean;
}

/** True for an ioredis Redis or Cluster instance. */
export function isRedisInstance(value: unknown): value is RedisClient {
  return value instanceof Redis || value instanceof Cluster;
}

/**
 * Options we need on connections we create: no per-request retry limit (commands wait for a reconnect instead of
 * failing mid-task) and RESP2 so script replies keep their classic shapes.
 */
const OWN_CONNECTION_DEFAULTS: RedisOptions = {
  maxRetriesPerRequest: null,
  protocol: 2,
  // Reconnect quickly after an outage (ioredis 6 backs off up to 5 s): workers resume within about a second.
  retryStrategy: (times: number) => Math.min(50 * times, 1000),
} as RedisOptions;

/**
 * Without an 'error' listener ioredis prints "Unhandled error event" on every failed reconnect attempt. Connections
 * we create get a silent one: commands wait for the reconnect and reject on their own, and status is reported through
 * the 'ready'/'reconnecting'/'end' events.
 */
function quiet<T extends RedisClient>(client: T): T {
  client.on('error', () => undefined);
  return client;
}

/** Creates (or adopts) the command connection described by `connection`. */
export function connect(connection: RedisConnection | undefined, name: string): OwnedClient {
  const created = create(connection, name);
  if (created.owned) quiet(created.client);
  return created;
}

function create(connection: RedisConnection | undefined, name: string): OwnedClient {
  const resolved = connection ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (isRedisInstance(resolved)) return { client: resolved, owned: false };
  if (typeof resolved === 'string') {
    return { client: new Redis(resolved, { ...OWN_CONNECTION_DEFAULTS, connectionName: name }), owned: true };
  }
  if ('cluster' in resolved && Array.isArray(resolved.cluster)) {
    const options = resolved.options ?? {};
    return {
      client: new Cluster(resolved.cluster, {
        ...options,
        redisOptions: { ...OWN_CONNECTION_DEFAULTS, connectionName: name, ...options.redisOptions },
      }),
      owned: true,
    };
  }
  return {
    client: new Redis({ ...OWN_CONNECTION_DEFAULTS, connectionName: name, ...(resolved as RedisOptions) }),
    owned: true,
  };
}

/**
 * A second connection for blocking commands and pub/sub, which must not share a socket with ordinary commands.
 * Always owned by the library, even when the user passed the first one in.
 */
export function duplicate(client: RedisClient, name: string): RedisClient {
  if (client instanceof Cluster) {
    return quiet(
      client.duplicate(undefined, {
        redisOptions: { ...client.options.redisOptions, ...OWN_CONNECTION_DEFAULTS, connectionName: name },
      }),
    );
  }
  return quiet(client.duplicate({ ...OWN_CONNECTION_DEFAULTS, connectionName: name }));
}

/** Closes a connection we own: QUIT when it is usable, else disconnect at once. */
export async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through: the socket is already gone
    }
  }
  client.disconnect();
}

/** True when the client talks to a Redis Cluster (keys of different queues may live on different nodes). */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** Where a client connects, for messages: `redis://host:port/db`, or the cluster's first node. */
export function describeAddress(client: RedisClient): string {
  if (client instanceof Cluster) {
    // ioredis keeps the nodes it was given in a private field; a cluster without them is named as such.
    const first = (client as unknown as { startupNodes?: unknown[] }).startupNodes?.[0] as
      { host?: string; port?: number } | string | number | undefined;
    if (typeof first === 'object' && first) return `redis cluster ${first.host ?? '127.0.0.1'}:${first.port ?? 6379}`;
    return `redis cluster ${String(first ?? '')}`;
  }
  const o = client.options;
  if (o.sentinels && o.sentinels.length > 0)
    return `redis sentinel "${o.name ?? ''}" via ${o.sentinels[0].host}:${o.sentinels[0].port}`;
  if (o.path) return `redis unix socket ${o.path}`;
  const scheme = o.tls ? 'rediss' : 'redis';
  return `${scheme}://${o.host ?? '127.0.0.1'}:${o.port ?? 6379}${o.db ? `/${o.db}` : ''}`;
}

/**
 * Where a connection option points, without credentials, for comparing two configurations and for messages:
 * `redis://host:port/db`, `rediss://…`, `redis cluster host:port`, `redis sentinel "name" via host:port`.
 */
export function describeConnectionOption(connection: RedisConnection | undefined): string {
  const resolved = connection ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (isRedisInstance(resolved)) return describeAddress(resolved);
  if (typeof resolved === 'string') {
    try {
      const url = new URL(resolved);
      const db = url.pathname.replace(/^\//, '');
      return `${url.protocol}//${url.hostname || '127.0.0.1'}:${url.port || '6379'}${db && db !== '0' ? `/${db}` : ''}`;
    } catch {
      return resolved.replace(/\/\/[^@/]*@/, '//');
    }
  }
  if ('cluster' in resolved && Array.isArray(resolved.cluster)) {
    const first = resolved.cluster[0] as { host?: string; port?: number } | string | number | undefined;
    if (typeof first === 'object' && first) return `redis cluster ${first.host ?? '127.0.0.1'}:${first.port ?? 6379}`;
    return `redis cluster ${String(first ?? '')}`;
  }
  const o = resolved as RedisOptions;
  if (o.sentinels && o.sentinels.length > 0)
    return `redis sentinel "${o.name ?? ''}" via ${o.sentinels[0].host}:${o.sentinels[0].port}`;
  if (o.path) return `redis unix socket ${o.path}`;
  return `${o.tls ? 'rediss' : 'redis'}://${o.host ?? '127.0.0.1'}:${o.port ?? 6379}${o.db ? `/${o.db}` : ''}`;
}
