import { parseDuration, type Duration } from './duration.js';
import { InvalidOptionError } from './errors.js';
import { DEFAULT_QUEUE, validateQueueName } from './options.js';
import type { Task } from './task.js';

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

/** Default concurrency. */
export const DEFAULT_CONCURRENCY = 10;
/** Default lease duration (30 s). */
export const DEFAULT_LEASE_MS = 30_000;
/** Default shutdown timeout (8 s). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 8_000;

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
  if (entries.length === 0)
    throw new InvalidOptionError('queues', 'expected at least one queue, as a list or { name: weight }');
  const queues = entries.map(([name, weight]) => {
    validateQueueName(name, 'queues');
    if (!Number.isInteger(weight) || weight < 1) {
      throw new InvalidOptionError(`queues.${name}`, `got weight ${String(weight)}; expected a positive integer`);
    }
    return { name, weight };
  });
  const leaseMs =
    options.leaseDuration === undefined ? DEFAULT_LEASE_MS : parseDuration(options.leaseDuration, 'leaseDuration');
  if (leaseMs < 500) throw new InvalidOptionError('leaseDuration', `got ${leaseMs} ms; expected at least 500ms`);
  const shutdownTimeoutMs =
    options.shutdownTimeout === undefined
      ? DEFAULT_SHUTDOWN_TIMEOUT_MS
      : parseDuration(options.shutdownTimeout, 'shutdownTimeout');
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
