import { parseDuration, parseOptionalDuration, type Duration } from './duration.js';
import { InvalidOptionError } from './errors.js';
import { DEFAULT_QUEUE, validateQueueName } from './options.js';
import { validateDate, validateNonNegativeInteger } from './validate.js';

/** Per-task options for `enqueue`. */
export interface EnqueueOptions {
  /**
   * The queue; `[A-Za-z0-9_.:-]{1,128}`.
   * @defaultValue `'default'`
   */
  queue?: string;
  /** A caller-chosen id; an existing id (any state) rejects with TaskIdConflictError. @defaultValue a random id */
  taskId?: string;
  /** Retries after the first attempt, 0 to 1,000,000. @defaultValue 25 */
  maxRetry?: number;
  /** Per-attempt timeout; the handler's AbortSignal fires at timeout. @defaultValue `'30m'` */
  timeout?: Duration;
  /** Absolute deadline (at most 10 years ahead); an attempt is limited to min(now + timeout, deadline). @defaultValue none */
  deadline?: Date;
  /** Process at this time, at most 10 years ahead (the task is scheduled until then). @defaultValue now */
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

/** Default retry budget. */
export const DEFAULT_MAX_RETRY = 25;
/** The largest retry budget. */
export const MAX_RETRY = 1_000_000;
/** Default per-attempt timeout (30 minutes). */
export const DEFAULT_TIMEOUT_MS = 30 * 60_000;

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
  'queue',
  'taskId',
  'maxRetry',
  'timeout',
  'deadline',
  'processAt',
  'processIn',
  'unique',
  'retention',
  'headers',
]);

/**
 * Validates and defaults {@link EnqueueOptions}.
 * @throws InvalidOptionError naming the field and what is allowed.
 */
export function resolveEnqueueOptions(options: EnqueueOptions | undefined, now: number): ResolvedEnqueueOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null)
    throw new InvalidOptionError('options', 'expected an object of EnqueueOptions');
  for (const key of Object.keys(o)) {
    if (!ENQUEUE_KEYS.has(key))
      throw new InvalidOptionError(key, `unknown option; allowed: ${[...ENQUEUE_KEYS].join(', ')}`);
  }
  const queue = o.queue === undefined ? DEFAULT_QUEUE : validateQueueName(o.queue);
  let taskId: string | undefined;
  if (o.taskId !== undefined) {
    if (typeof o.taskId !== 'string' || o.taskId.length === 0 || o.taskId.length > 256) {
      throw new InvalidOptionError(
        'taskId',
        `got ${JSON.stringify(o.taskId)}; expected a non-empty string of at most 256 characters`,
      );
    }
    taskId = o.taskId;
  }
  const maxRetry =
    o.maxRetry === undefined ? DEFAULT_MAX_RETRY : validateNonNegativeInteger(o.maxRetry, 'maxRetry', MAX_RETRY);
  const timeoutMs = o.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(o.timeout, 'timeout');
  if (timeoutMs === 0) throw new InvalidOptionError('timeout', 'got 0; expected a positive duration');
  const deadlineMs = o.deadline === undefined ? undefined : validateDate(o.deadline, 'deadline', now);
  if (o.processAt !== undefined && o.processIn !== undefined) {
    throw new InvalidOptionError('processAt', 'processAt and processIn are exclusive; give one of them');
  }
  let processAtMs = o.processAt === undefined ? undefined : validateDate(o.processAt, 'processAt', now);
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
