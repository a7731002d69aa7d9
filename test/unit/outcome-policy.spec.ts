import { describe, expect, it } from 'vitest';
import type { TaskMessage } from '../../lib/core/broker/codec.js';
import { DeadlineExceededError, SkipRetryError, TaskCanceledError, TaskTimeoutError } from '../../lib/core/errors.js';
import {
  attemptLimit,
  AWAITED_RESULT_GRACE_MS,
  decideFailure,
  FALLBACK_RETRY_DELAY_MS,
  retentionOf,
  type FailurePolicy,
} from '../../lib/core/processing/outcome-policy.js';
import type { Task } from '../../lib/core/task.js';

const NOW = 1_000_000;
const message = (over: Partial<TaskMessage> = {}): TaskMessage => ({
  type: 't',
  payload: {},
  readyAt: NOW,
  maxRetry: 3,
  retried: 0,
  timeoutMs: 60_000,
  retentionMs: 0,
  headers: {},
  ...over,
});
const task = {} as Task;
const policy = (over: Partial<FailurePolicy> = {}): FailurePolicy => ({
  retryDelay: () => 500,
  isFailure: () => true,
  ...over,
});
const noPolicyError = (err: Error): never => {
  throw err;
};

describe('attemptLimit', () => {
  it('is the timeout when no deadline comes first', () => {
    const limit = attemptLimit('a', message({ deadlineMs: NOW + 120_000 }), NOW);
    expect(limit.ms).toBe(60_000);
    expect(limit.reason()).toBeInstanceOf(TaskTimeoutError);
  });

  it('is the time left to the deadline when that comes first, failing with DeadlineExceededError', () => {
    const limit = attemptLimit('a', message({ deadlineMs: NOW + 5_000 }), NOW);
    expect(limit.ms).toBe(5_000);
    const reason = limit.reason();
    expect(reason).toBeInstanceOf(DeadlineExceededError);
    expect((reason as DeadlineExceededError).code).toBe('DEADLINE_EXCEEDED');
    expect(reason.message).toContain(new Date(NOW + 5_000).toISOString());
  });

  it('is over before it starts once the deadline passed', () => {
    expect(attemptLimit('a', message({ deadlineMs: NOW - 1 }), NOW).ms).toBeLessThanOrEqual(0);
  });
});

describe('decideFailure', () => {
  it('retries a counted failure after retryDelay, one more retried', () => {
    const out = decideFailure(new Error('boom'), message({ retried: 1 }), task, NOW, policy(), noPolicyError);
    expect(out).toEqual({ kind: 'retry', lastError: 'boom', retryAt: NOW + 500, retried: 2, countsAsFailure: true });
  });

  it('archives once no retries are left', () => {
    expect(decideFailure(new Error('x'), message({ retried: 3 }), task, NOW, policy(), noPolicyError)).toEqual({
      kind: 'archive',
      lastError: 'x',
    });
  });

  it('archives SkipRetryError and a canceled task at once, without asking the policy', () => {
    const asked: string[] = [];
    const p = policy({ isFailure: () => (asked.push('isFailure'), true), retryDelay: () => (asked.push('delay'), 1) });
    expect(decideFailure(new SkipRetryError('no'), message(), task, NOW, p, noPolicyError).kind).toBe('archive');
    expect(decideFailure(new TaskCanceledError('id'), message(), task, NOW, p, noPolicyError).kind).toBe('archive');
    expect(asked).toEqual([]);
  });

  it('an error isFailure rejects retries without counting, even with no retries left', () => {
    const out = decideFailure(
      new Error('busy'),
      message({ retried: 3 }),
      task,
      NOW,
      policy({ isFailure: () => false }),
      noPolicyError,
    );
    expect(out).toMatchObject({ kind: 'retry', retried: 3, countsAsFailure: false });
  });

  it('archives when the retry could only start at or after the deadline', () => {
    const out = decideFailure(new Error('x'), message({ deadlineMs: NOW + 500 }), task, NOW, policy(), noPolicyError);
    expect(out.kind).toBe('archive');
  });

  it('reports a throwing or invalid retryDelay and falls back to a fixed delay', () => {
    const errors: Error[] = [];
    const out = decideFailure(new Error('x'), message(), task, NOW, policy({ retryDelay: () => 'soon' }), (e) =>
      errors.push(e),
    );
    expect(out).toMatchObject({ kind: 'retry', retryAt: NOW + FALLBACK_RETRY_DELAY_MS });
    expect(errors[0]?.message).toMatch(/retryDelay/);
  });

  it('reports a throwing isFailure and counts the failure', () => {
    const errors: Error[] = [];
    const p = policy({
      isFailure: () => {
        throw new Error('bad predicate');
      },
    });
    expect(decideFailure(new Error('x'), message(), task, NOW, p, (e) => errors.push(e))).toMatchObject({
      countsAsFailure: true,
    });
    expect(errors.map((e) => e.message)).toEqual(['bad predicate']);
  });

  it('names an error without a message by its name', () => {
    const err = new Error('');
    err.name = 'WeirdError';
    expect(decideFailure(err, message(), task, NOW, policy(), noPolicyError).lastError).toBe('WeirdError');
  });
});

describe('retentionOf', () => {
  it('keeps for the retention, an awaited task for a grace period, others not at all', () => {
    expect(retentionOf(message({ retentionMs: 5000 }))).toBe(5000);
    expect(retentionOf(message({ awaited: true }))).toBe(AWAITED_RESULT_GRACE_MS);
    expect(retentionOf(message())).toBe(0);
  });
});
