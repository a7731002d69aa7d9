import type { Redis } from 'ioredis';
import { afterEach } from 'vitest';
import type { Broker } from '../../lib/core/broker/broker.js';
import type { BrokerInternals } from '../../lib/core/lifecycle.js';
import { MemoryBroker } from '../../lib/core/broker/memory/memory-broker.js';
import { createMemoryStore, dropMemoryStore } from '../../lib/core/broker/memory/registry.js';
import type { MemoryStore } from '../../lib/core/broker/memory/store.js';
import { QueueKeys } from '../../lib/core/broker/redis/keys.js';
import { RedisBroker } from '../../lib/core/broker/redis/redis-broker.js';
import {
  TaskClient,
  TaskInspector,
  TaskScheduler,
  TaskWorker,
  type ClientOptions,
  type InspectorOptions,
  type SchedulerOptions,
  type TaskqOptions,
  type WorkerOptions,
  type WorkerInternals,
} from '../../lib/core/index.js';
import { cleanupPrefix, testRedis, testRedisUrl, uniquePrefix } from './redis.js';

/** The backends the behaviour suite runs on. */
export type Backend = 'redis' | 'memory';
/** Every backend, for `describe.each(backends)`. */
export const backends: Backend[] = ['redis', 'memory'];

/** A queue's structure, named as its Redis key suffix (docs/architecture.md, key schema). */
export type Structure = 'pending' | 'active' | 'lease' | 'scheduled' | 'retry' | 'archived' | 'completed' | 'waiters';

/**
 * Reads of a backend's stored state, the same on both backends (Redis: plain reads of the keys; memory: the store's
 * structures), so a test asserts what is stored without knowing where. Raw writes (pokes) stay Redis-only.
 */
export interface StateProbe {
  /** Pending ids in queue order, the next to run first. */
  pendingIds(queue: string): Promise<string[]>;
  /** How many members a structure of `queue` holds. */
  count(queue: string, structure: Structure): Promise<number>;
  /** How many task records `queue` holds. */
  records(queue: string): Promise<number>;
  /** The score of `id` in a sorted structure (due time, lease, expiry), or undefined. */
  score(
    queue: string,
    structure: 'lease' | 'scheduled' | 'retry' | 'archived' | 'completed',
    id: string,
  ): Promise<number | undefined>;
  /** True when `id` is in the waiters set of `queue`. */
  isWaiter(queue: string, id: string): Promise<boolean>;
  /** The raw stored message of a task. */
  message(queue: string, id: string): Promise<string | undefined>;
  /** Every task record of `queue`, by id. */
  messages(queue: string): Promise<Record<string, string>>;
  /** An all-time counter of `queue` (0 when it was never written). */
  counter(queue: string, counter: 'processed' | 'failed'): Promise<number>;
  /** The stored fire state of a periodic entry. */
  cronState(queue: string, id: string): Promise<string | undefined>;
  /** True when nothing at all is stored under the prefix. */
  isEmpty(): Promise<boolean>;
}

/**
 * Per-test fixture on one backend: a unique prefix (Redis) or a fresh store (memory), clients, workers, inspectors and
 * schedulers that are closed (and keys deleted, or the store dropped) after each test.
 */
export function useTaskq(label = 't', backend: Backend = 'redis') {
  const closers: (() => Promise<unknown>)[] = [];
  const state: { prefix: string; store?: MemoryStore } = { prefix: uniquePrefix(label) };
  const admin = backend === 'redis' ? testRedis() : undefined;
  let stores = 0;

  const store = (): MemoryStore => {
    state.store ??= createMemoryStore(`${label}-${process.pid}-${++stores}-${state.prefix.slice(-10)}`);
    return state.store;
  };
  const connection = (): string => (backend === 'redis' ? testRedisUrl() : store().url);
  const track = <T>(object: T, close: (o: T) => Promise<unknown>): T => {
    closers.push(() => close(object));
    return object;
  };

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    if (admin) await cleanupPrefix(admin, state.prefix);
    if (state.store) dropMemoryStore(state.store);
    state.store = undefined;
    state.prefix = uniquePrefix(label);
  });

  const probe: StateProbe =
    backend === 'redis' ? redisProbe(admin!, () => state.prefix) : memoryProbe(store, () => state.prefix);

  return {
    backend,
    /** Raw Redis access, for the Redis-only parts of a test. */
    get admin(): Redis {
      if (!admin) throw new Error('tq.admin: raw Redis access in a test on the memory backend');
      return admin;
    },
    get prefix() {
      return state.prefix;
    },
    /** The connection option of the backend. */
    get connection(): string {
      return connection();
    },
    /** The memory store of this test (memory backend only). */
    get store(): MemoryStore {
      if (backend !== 'memory') throw new Error('tq.store: the Redis backend has no memory store');
      return store();
    },
    probe,
    client(options: ClientOptions & BrokerInternals = {}): TaskClient {
      return track(new TaskClient({ connection: connection(), prefix: state.prefix, ...options }), (c) => c.close());
    },
    worker(options: TaskqOptions & WorkerOptions & WorkerInternals = {}): TaskWorker {
      return track(new TaskWorker({ connection: connection(), prefix: state.prefix, ...options }), (w) => w.shutdown());
    },
    inspector(options: InspectorOptions = {}): TaskInspector {
      return track(new TaskInspector({ connection: connection(), prefix: state.prefix, ...options }), (i) => i.close());
    },
    scheduler(options: SchedulerOptions = {}): TaskScheduler {
      return track(new TaskScheduler({ connection: connection(), prefix: state.prefix, ...options }), (s) =>
        s.shutdown(),
      );
    },
    /** A bare broker of the backend (closed after the test). */
    broker(): Broker {
      const broker =
        backend === 'redis' ? new RedisBroker(admin!, state.prefix) : new MemoryBroker(store(), state.prefix);
      return track(broker, (b) => b.close());
    },
    key(queue: string, suffix: string): string {
      return `${state.prefix}:{${queue}}:${suffix}`;
    },
  };
}

function redisProbe(redis: Redis, prefix: () => string): StateProbe {
  const keys = (queue: string) => new QueueKeys(prefix(), queue);
  const orUndefined = (v: string | null): number | undefined => (v === null ? undefined : Number(v));
  return {
    pendingIds: async (queue) => (await redis.lrange(keys(queue).pending, 0, -1)).reverse(),
    count: async (queue, structure) => {
      const key = keys(queue)[structure];
      if (structure === 'pending') return redis.llen(key);
      if (structure === 'active' || structure === 'waiters') return redis.scard(key);
      return redis.zcard(key);
    },
    records: (queue) => redis.hlen(keys(queue).tasks),
    score: async (queue, structure, id) => orUndefined(await redis.zscore(keys(queue)[structure], id)),
    isWaiter: async (queue, id) => (await redis.sismember(keys(queue).waiters, id)) === 1,
    message: async (queue, id) => (await redis.hget(keys(queue).tasks, id)) ?? undefined,
    messages: (queue) => redis.hgetall(keys(queue).tasks),
    counter: async (queue, counter) => Number((await redis.get(keys(queue)[counter])) ?? 0),
    cronState: async (queue, id) => (await redis.hget(keys(queue).cronState, id)) ?? undefined,
    isEmpty: async () => (await redis.keys(`${prefix()}:*`)).length === 0,
  };
}

function memoryProbe(store: () => MemoryStore, prefix: () => string): StateProbe {
  const q = (queue: string) => store().space(prefix()).queues.get(queue);
  return {
    pendingIds: async (queue) => {
      const pending = q(queue)?.pending;
      return pending ? pending.slice(0, pending.size - 1) : [];
    },
    count: async (queue, structure) => {
      const s = q(queue);
      if (!s) return 0;
      if (structure === 'pending') return s.pending.size;
      if (structure === 'active') return s.active.size;
      if (structure === 'waiters') return s.waiters.size;
      return s[structure].size;
    },
    records: async (queue) => q(queue)?.tasks.size ?? 0,
    score: async (queue, structure, id) => q(queue)?.[structure].score(id),
    isWaiter: async (queue, id) => q(queue)?.waiters.has(id) ?? false,
    message: async (queue, id) => q(queue)?.tasks.get(id),
    messages: async (queue) => Object.fromEntries(q(queue)?.tasks ?? []),
    counter: async (queue, counter) => q(queue)?.total(counter) ?? 0,
    cronState: async (queue, id) => q(queue)?.cronState.get(id),
    isEmpty: async () => store().space(prefix()).isEmpty,
  };
}
