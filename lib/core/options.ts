import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { Duration } from './duration.js';
import { InvalidOptionError } from './errors.js';
import type { PayloadCodec } from './payload-codec.js';

export type { PayloadCodec } from './payload-codec.js';

/** Sentinel address as ioredis takes it. */
export interface SentinelAddress {
  host: string;
  port: number;
}

/**
 * How to reach Redis: a URL (`redis://` or `rediss://`), ioredis options, a cluster, a sentinel set, or an ioredis
 * instance you own (never closed by the library).
 */
export type RedisConnection =
  | string
  | RedisOptions
  | { cluster: ClusterNode[]; options?: ClusterOptions }
  | (RedisOptions & { sentinels: SentinelAddress[]; name: string })
  | Redis
  | Cluster;

/** Options every client, worker, inspector and scheduler takes. */
export interface TaskqOptions {
  /**
   * Where Redis is.
   * @defaultValue `process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'`
   */
  connection?: RedisConnection;
  /**
   * Prefix of every key; lets several apps share one Redis.
   * @defaultValue `'taskq'`
   */
  prefix?: string;
  /**
   * Payload codec (Nest's serializer/deserializer map onto it).
   * @defaultValue JSON (payloads stored as they are)
   */
  codec?: PayloadCodec;
  /**
   * How long a producer call (enqueue, enqueueMany, getTask, cancel...) waits for Redis before it rejects with
   * RedisUnavailableError; `false` waits forever. Workers wait for Redis as long as it takes; producers must not
   * hang an HTTP request. See RedisUnavailableError.mayHaveWritten for what a rejected enqueue did.
   * @defaultValue `'10s'`
   */
  enqueueTimeout?: Duration | false;
  /**
   * The largest encoded task (payload, headers and the task's own fields, as stored), in bytes, 1 to 512 MiB. A larger
   * task is refused with InvalidOptionError before anything is sent.
   * @defaultValue 1 MiB (`1_048_576`)
   */
  maxPayloadSize?: number;
}

/** Default queue name. */
export const DEFAULT_QUEUE = 'default';
/** Default key prefix. */
export const DEFAULT_PREFIX = 'taskq';
/** Longest allowed queue name. */
export const MAX_QUEUE_NAME_LENGTH = 128;

const QUEUE_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
const PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Validates a queue name. @throws InvalidOptionError */
export function validateQueueName(queue: unknown, field = 'queue'): string {
  if (typeof queue !== 'string' || !QUEUE_NAME_PATTERN.test(queue)) {
    throw new InvalidOptionError(
      field,
      `got ${JSON.stringify(queue)}; a queue name is 1 to ${MAX_QUEUE_NAME_LENGTH} characters of A-Z a-z 0-9 _ . : -`,
    );
  }
  return queue;
}

/** Validates a task type: a non-empty string of at most 256 characters. @throws InvalidOptionError */
export function validateTaskType(type: unknown, field = 'type'): string {
  if (typeof type !== 'string' || type.length === 0 || type.length > 256) {
    throw new InvalidOptionError(
      field,
      `got ${JSON.stringify(type)}; a task type is a non-empty string of at most 256 characters`,
    );
  }
  return type;
}

/** Validates a key prefix. @throws InvalidOptionError */
export function validatePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new InvalidOptionError(
      'prefix',
      `got ${JSON.stringify(prefix)}; expected 1 to 64 characters of A-Z a-z 0-9 _ . : -`,
    );
  }
  return prefix;
}
