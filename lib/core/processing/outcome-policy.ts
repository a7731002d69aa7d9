import type { TaskMessage } from '../broker/codec.js';
import { parseDuration, type Duration } from '../duration.js';
import {
  DeadlineExceededError,
  SkipRetryError,
  TaskCanceledError,
  TaskqError,
  TaskTimeoutError,
  toError,
} from '../errors.js';
import type { Task } from '../task.js';

/**
 * What happens to a task after an attempt, decided without touching Redis (and unit-tested without it): how long an
 * attempt may run, whether a failure retries or archives and when, and how long a result is kept.
 */

/** How long an awaited task without retention keeps its result (a waiter that missed the notification reads it). */
export const AWAITED_RESULT_GRACE_MS = 60_000;
/** Used when `retryDelay` throws or returns an invalid duration. */
export const FALLBACK_RETRY_DELAY_MS = 1000;

/** The limit of one attempt: the per-attempt timeout, or the deadline when that comes first. */
export interface AttemptLimit {
  /** Milliseconds the attempt may run (0 or less: it is over before it starts). */
  ms: number;
  /** The error the attempt fails with when the limit is reached. */
  reason: () => Error;
}

/** The effective limit of an attempt starting at `now`: min(now + timeout, deadline). */
export function attemptLimit(id: string, message: TaskMessage, now: number): AttemptLimit {
  const { timeoutMs, deadlineMs } = message;
  if (deadlineMs !== undefined && deadlineMs - now < timeoutMs) {
    return { ms: deadlineMs - now, reason: () => new DeadlineExceededError(id, new Date(deadlineMs)) };
  }
  return { ms: timeoutMs, reason: () => new TaskTimeoutError(`task "${id}" timed out after ${timeoutMs} ms`) };
}

/** The worker's failure policy (WorkerOptions). */
export interface FailurePolicy {
  retryDelay: (retried: number, error: Error, task: Task) => Duration;
  isFailure: (error: Error) => boolean;
}

/** What to do with a failed attempt. */
export type FailureOutcome =
  | { kind: 'archive'; lastError: string }
  | { kind: 'retry'; lastError: string; retryAt: number; retried: number; countsAsFailure: boolean };

/**
 * Decides a failed attempt:
 * - SkipRetryError (and a canceled task) archives at once;
 * - an error `isFailure` rejects retries without counting against `maxRetry`;
 * - a counted failure with no retries left archives;
 * - otherwise the task retries after `retryDelay`, unless that retry could only start after the deadline.
 * `onPolicyError` receives what `isFailure` or `retryDelay` threw (the default applies then).
 */
export function decideFailure(
  error: Error,
  message: TaskMessage,
  task: Task,
  now: number,
  policy: FailurePolicy,
  onPolicyError: (err: Error) => void,
): FailureOutcome {
  const lastError = error.message || error.name || 'failed';
  const skip =
    error instanceof SkipRetryError ||
    error instanceof TaskCanceledError ||
    (error instanceof TaskqError && error.code === 'SKIP_RETRY');
  if (skip) return { kind: 'archive', lastError };
  let countsAsFailure = true;
  try {
    countsAsFailure = policy.isFailure(error);
  } catch (err) {
    onPolicyError(toError(err));
  }
  if (countsAsFailure && message.retried >= message.maxRetry) return { kind: 'archive', lastError };
  let retryAt: number;
  try {
    retryAt = now + parseDuration(policy.retryDelay(message.retried, error, task), 'retryDelay');
  } catch (err) {
    onPolicyError(toError(err));
    retryAt = now + FALLBACK_RETRY_DELAY_MS;
  }
  // A retry that could only start after the deadline cannot succeed.
  if (message.deadlineMs !== undefined && retryAt >= message.deadlineMs) return { kind: 'archive', lastError };
  return {
    kind: 'retry',
    lastError,
    retryAt,
    retried: countsAsFailure ? message.retried + 1 : message.retried,
    countsAsFailure,
  };
}

/** How long a completed task and its result are kept (0: deleted at once). */
export function retentionOf(message: TaskMessage): number {
  if (message.retentionMs > 0) return message.retentionMs;
  return message.awaited ? AWAITED_RESULT_GRACE_MS : 0;
}
