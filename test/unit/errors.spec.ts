import { describe, expect, it } from 'vitest';
import { enqueueError, taskOpError, taskOpOutcome } from '../../lib/core/broker/script-codes.js';
import * as core from '../../lib/core/index.js';
import { parseCronspec } from '../../lib/core/periodic/cron.js';

describe('errors', () => {
  it('a bad cronspec is a bad option with a code of its own', () => {
    let thrown: unknown;
    try {
      parseCronspec('61 * * * *');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(core.InvalidCronspecError);
    expect(thrown).toBeInstanceOf(core.InvalidOptionError);
    expect(thrown).toBeInstanceOf(core.TaskqError);
    expect((thrown as core.InvalidCronspecError).code).toBe('INVALID_CRONSPEC');
    expect((thrown as core.InvalidOptionError).field).toBe('cronspec');
  });

  it('every code the library reports has its own exported class', () => {
    const made: core.TaskqError[] = [
      new core.InvalidOptionError('f', 'm'),
      new core.InvalidCronspecError('x', 'm'),
      new core.DuplicateTaskError('q', 't'),
      new core.TaskIdConflictError('i', 'q'),
      new core.TaskNotFoundError('i'),
      new core.TaskTimeoutError('m'),
      new core.TaskFailedError('i', 'm'),
      new core.TaskCanceledError('i'),
      new core.SkipRetryError(),
      new core.LeaseLostError('i'),
      new core.NoHandlerError('t'),
      new core.CorruptTaskError('r'),
      new core.DeadlineExceededError('i', new Date(0)),
      new core.ShutdownError(),
      new core.ClosedError('x'),
      new core.InvalidStateError('m'),
      new core.RedisUnavailableError('redis://h:1', 'm'),
      new core.CorruptQueueError('q', 'k', 'list', 'string'),
      new core.DrainLimitError(10, [{ type: 't', count: 11 }]),
    ];
    const codes = made.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of made) expect(e.name).toBe(e.constructor.name);
  });

  it('maps script outcomes to typed errors in one place', () => {
    expect(enqueueError('ok', { id: 'i', queue: 'q', type: 't' })).toBeUndefined();
    expect(enqueueError('conflict', { id: 'i', queue: 'q', type: 't' })).toBeInstanceOf(core.TaskIdConflictError);
    expect(enqueueError('duplicate', { id: 'i', queue: 'q', type: 't' })).toBeInstanceOf(core.DuplicateTaskError);
    expect(taskOpError(taskOpOutcome(0), 'runTask', 'i', 'q', 'x')).toBeInstanceOf(core.TaskNotFoundError);
    const refused = taskOpError(taskOpOutcome(-4), 'runTask', 'i', 'q', 'scheduled, retry or archived');
    expect(refused).toBeInstanceOf(core.InvalidStateError);
    expect(refused?.message).toBe(
      'runTask: task "i" in queue "q" is completed; runTask applies to scheduled, retry or archived tasks',
    );
    expect(() => taskOpOutcome(7)).toThrow(/unexpected/);
  });
});
