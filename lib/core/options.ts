import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { parseDuration, parseOptionalDuration, type Duration } from './duration.js';
import { InvalidOptionError } from './errors.js';
import type { Task } from './task.js';

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

/** A pluggable payload encoder: turns a payload into a JSON value and back. JSON is the default. */
export interface PayloadCodec {
  /** Turns a payload into a value `JSON.stringify` can encode. */
  encode(payload: unknown): unknown;
  /** Turns the stored JSON value back into a payload. */
  decode(encoded: unknown): unknown;
}

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
}

/** Per-task options for `enqueue`. */
export interface EnqueueOptions {
  /**
   * The queue; `[A-Za-z0-9_.:-]{1,128}`.
   * @defaultValue `'default'`
   */
  queue?: string;
  /** A caller-chosen id; an existing id (any state) rejects with TaskIdConflictError. @defaultValue a random id */
  taskId?: string;
  /** Retries after the first attempt. @defaultValue 25 */
  maxRetry?: number;
  /** Per-attempt timeout; the handler's AbortSignal fires at timeout. @defaultValue `'30m'` */
  timeout?: Duration;
  /** Absolute deadline; each attempt is limited to min(now + timeout, deadline). @defaultValue none */
  deadline?: Date;
  /** Process at this time (the task is scheduled until then). @defaultValue now */
  processAt?: Date;
  /** Shorthand for `processAt = now + processIn`. @defaultValue 0 */
  processIn?: Duration;
  /** Lock (queue, type, payload) for this long; a duplicate rejects with DuplicateTaskError. @defaultValue none */
  unique?: Duration;
  /** Keep the completed task and its result this long. @defaultValue 0 (deleted on success) */
  retention?: Duration;
  /** Headers that travel with the task. @defaultValue `{}` */
  headers?: Record<string, string>;
}

/** Worker options. */
export interface WorkerOptions {
  /** How many tasks run at once. @defaultValue 10 */
  concurrency?: number;
  /** Queues and their weights (or a list, all weight 1). @defaultValue `{ default: 1 }` */
  queues?: Record<string, number> | string[];
  /** Always drain higher-weight queues first instead of weighted random order. @defaultValue false */
  strictPriority?: boolean;
  /** Delay before retry number `retried + 1`. @defaultValue exponential (1s, 2s, 4s... capped at 1h) with jitter */
  retryDelay?: (retried: number, error: Error, task: Task) => Duration;
  /** Returns false for errors that should retry without counting against maxRetry. @defaultValue always true */
  isFailure?: (error: Error) => boolean;
  /** How long a task stays leased without a heartbeat; a dead worker's task runs again after it. @defaultValue `'30s'` */
  leaseDuration?: Duration;
  /** How long shutdown waits for running tasks before giving them back to their queue. @defaultValue `'8s'` */
  shutdownTimeout?: Duration;
}

/** Default queue name. */
export const DEFAULT_QUEUE = 'default';
/** Default retry budget. */
export const DEFAULT_MAX_RETRY = 25;
/** Default per-attempt timeout (30 minutes). */
export const DEFAULT_TIMEOUT_MS = 30 * 60_000;
/** Default key prefix. */
export const DEFAULT_PREFIX = 'taskq';
/** Default concurrency. */
export const DEFAULT_CONCURRENCY = 10;
/** Default lease duration (30 s). */
export const DEFAULT_LEASE_MS = 30_000;
/** Default shutdown timeout (8 s). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 8_000;
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
    throw new InvalidOptionError(field, `got ${JSON.stringify(type)}; a task type is a non-empty string of at most 256 characters`);
  }
  return type;
}

function validateNonNegativeInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidOptionError(field, `got ${String(value)}; expected a non-negative integer`);
  }
  return value;
}

function validateDate(value: unknown, field: string): number {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new InvalidOptionError(field, `got ${String(value)}; expected a valid Date`);
  }
  return value.getTime();
}

/** Enqueue options after validation and defaulting; times in ms since epoch. */
export interface ResolvedEnqueueOptions {
  queue: string;
  taskId?: string;
  maxRetry: number;
  timeoutMs: number;
  deadlineMs?: number;
  processAtMs?: number;
  uniqueMs?: number;
  retentionMs: number;
  headers: Record<string, string>;
}

const ENQUEUE_KEYS = new Set([
  'queue', 'taskId', 'maxRetry', 'timeout', 'deadline', 'processAt', 'processIn', 'unique', 'retention', 'headers',
]);

/**
 * Validates and defaults {@link EnqueueOptions}.
 * @throws InvalidOptionError naming the field and what is allowed.
 */
export function resolveEnqueueOptions(options: EnqueueOptions | undefined, now: number): ResolvedEnqueueOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError('options', 'expected an object of EnqueueOptions');
  for (const key of Object.keys(o)) {
    if (!ENQUEUE_KEYS.has(key)) throw new InvalidOptionError(key, `unknown option; allowed: ${[...ENQUEUE_KEYS].join(', ')}`);
  }
  const queue = o.queue === undefined ? DEFAULT_QUEUE : validateQueueName(o.queue);
  let taskId: string | undefined;
  if (o.taskId !== undefined) {
    if (typeof o.taskId !== 'string' || o.taskId.length === 0 || o.taskId.length > 256) {
      throw new InvalidOptionError('taskId', `got ${JSON.stringify(o.taskId)}; expected a non-empty string of at most 256 characters`);
    }
    taskId = o.taskId;
  }
  const maxRetry = o.maxRetry === undefined ? DEFAULT_MAX_RETRY : validateNonNegativeInteger(o.maxRetry, 'maxRetry');
  const timeoutMs = o.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(o.timeout, 'timeout');
  if (timeoutMs === 0) throw new InvalidOptionError('timeout', 'got 0; expected a positive duration');
  const deadlineMs = o.deadline === undefined ? undefined : validateDate(o.deadline, 'deadline');
  if (o.processAt !== undefined && o.processIn !== undefined) {
    throw new InvalidOptionError('processAt', 'processAt and processIn are exclusive; give one of them');
  }
  let processAtMs = o.processAt === undefined ? undefined : validateDate(o.processAt, 'processAt');
  const processIn = parseOptionalDuration(o.processIn, 'processIn');
  if (processIn !== undefined && processIn > 0) processAtMs = now + processIn;
  if (processAtMs !== undefined && processAtMs <= now) processAtMs = undefined;
  const uniqueMs = parseOptionalDuration(o.unique, 'unique');
  if (uniqueMs !== undefined && uniqueMs < 1000) {
    throw new InvalidOptionError('unique', `got ${uniqueMs} ms; the unique lock must last at least 1s`);
  }
  const retentionMs = o.retention === undefined ? 0 : parseDuration(o.retention, 'retention');
  const headers: Record<string, string> = {};
  if (o.headers !== undefined) {
    if (typeof o.headers !== 'object' || o.headers === null || Array.isArray(o.headers)) {
      throw new InvalidOptionError('headers', 'expected an object of string values');
    }
    for (const [key, value] of Object.entries(o.headers)) {
      if (typeof value !== 'string') {
        throw new InvalidOptionError(`headers.${key}`, `got ${typeof value}; header values are strings`);
      }
      headers[key] = value;
    }
  }
  return { queue, taskId, maxRetry, timeoutMs, deadlineMs, processAtMs, uniqueMs, retentionMs, headers };
}

/** Validates a key prefix. @throws InvalidOptionError */
export function validatePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new InvalidOptionError('prefix', `got ${JSON.stringify(prefix)}; expected 1 to 64 characters of A-Z a-z 0-9 _ . : -`);
  }
  return prefix;
}

/** The default retry delay: 1s, 2s, 4s... capped at 1 hour, each with up to 50% jitter below it. */
export function defaultRetryDelay(retried: number): number {
  const base = Math.min(1000 * 2 ** Math.min(retried, 32), 3_600_000);
  return Math.round(base * (0.5 + Math.random() * 0.5));
}

/** Worker options after validation and defaulting. */
export interface ResolvedWorkerOptions {
  concurrency: number;
  queues: { name: string; weight: number }[];
  strictPriority: boolean;
  retryDelay: (retried: number, error: Error, task: Task) => Duration;
  isFailure: (error: Error) => boolean;
  leaseMs: number;
  shutdownTimeoutMs: number;
}

/**
 * Validates and defaults {@link WorkerOptions}.
 * @throws InvalidOptionError naming the field and what is allowed.
 */
export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000) {
    throw new InvalidOptionError('concurrency', `got ${String(concurrency)}; expected an integer from 1 to 10000`);
  }
  const rawQueues = options.queues ?? { [DEFAULT_QUEUE]: 1 };
  const entries: [string, number][] = Array.isArray(rawQueues)
    ? rawQueues.map((q) => [q, 1])
    : typeof rawQueues === 'object' && rawQueues !== null
      ? Object.entries(rawQueues)
      : [];
  if (entries.length === 0) throw new InvalidOptionError('queues', 'expected at least one queue, as a list or { name: weight }');
  const queues = entries.map(([name, weight]) => {
    validateQueueName(name, 'queues');
    if (!Number.isInteger(weight) || weight < 1) {
      throw new InvalidOptionError(`queues.${name}`, `got weight ${String(weight)}; expected a positive integer`);
    }
    return { name, weight };
  });
  const leaseMs = options.leaseDuration === undefined ? DEFAULT_LEASE_MS : parseDuration(options.leaseDuration, 'leaseDuration');
  if (leaseMs < 500) throw new InvalidOptionError('leaseDuration', `got ${leaseMs} ms; expected at least 500ms`);
  const shutdownTimeoutMs =
    options.shutdownTimeout === undefined ? DEFAULT_SHUTDOWN_TIMEOUT_MS : parseDuration(options.shutdownTimeout, 'shutdownTimeout');
  if (options.retryDelay !== undefined && typeof options.retryDelay !== 'function') {
    throw new InvalidOptionError('retryDelay', 'expected a function (retried, error, task) => Duration');
  }
  if (options.isFailure !== undefined && typeof options.isFailure !== 'function') {
    throw new InvalidOptionError('isFailure', 'expected a function (error) => boolean');
  }
  return {
    concurrency,
    queues,
    strictPriority: options.strictPriority ?? false,
    retryDelay: options.retryDelay ?? ((retried) => defaultRetryDelay(retried)),
    isFailure: options.isFailure ?? (() => true),
    leaseMs,
    shutdownTimeoutMs,
  };
}
