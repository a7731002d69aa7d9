import {
  DuplicateTaskError,
  InvalidStateError,
  TaskIdConflictError,
  TaskNotFoundError,
  type TaskqError,
} from '../errors.js';
import type { TaskState } from '../task.js';

/**
 * The codes the scripts return, in one place: the numbers each Lua script's header names, the outcomes the broker
 * interface reports for them (names, not numbers, so the in-memory backend reports the same ones), and the typed
 * errors those outcomes become (BullMQ's error-code enum with its one mapping).
 */

/** Per-task outcome of an enqueue: stored, a caller-chosen id that exists, or a unique lock held by another task. */
export type EnqueueOutcome = 'ok' | 'conflict' | 'duplicate';

/** enqueue.lua's per-task codes. */
export const EnqueueCode = { Ok: 1, IdConflict: 0, Duplicate: -1 } as const;

/** Reads enqueue.lua's codes. */
export function enqueueOutcome(code: number): EnqueueOutcome {
  return code === EnqueueCode.Ok ? 'ok' : code === EnqueueCode.IdConflict ? 'conflict' : 'duplicate';
}

/**
 * Outcome of the inspector's per-task transitions (run, archive, delete): done, no such task, or the state that
 * refuses the transition.
 */
export type TaskOpOutcome = 'ok' | 'not-found' | Exclude<TaskState, 'scheduled' | 'retry'>;

/** run-task.lua, archive-task.lua and delete-task.lua's codes. */
export const TaskOpCode = { Ok: 1, NotFound: 0, Active: -1, Pending: -2, Archived: -3, Completed: -4 } as const;

const TASK_OP_OUTCOMES: Record<number, TaskOpOutcome> = {
  [TaskOpCode.Ok]: 'ok',
  [TaskOpCode.NotFound]: 'not-found',
  [TaskOpCode.Active]: 'active',
  [TaskOpCode.Pending]: 'pending',
  [TaskOpCode.Archived]: 'archived',
  [TaskOpCode.Completed]: 'completed',
};

/** Reads a per-task transition's code. @throws Error for a code no script returns */
export function taskOpOutcome(code: number): TaskOpOutcome {
  const outcome = TASK_OP_OUTCOMES[code];
  if (outcome === undefined) throw new Error(`unexpected task operation code ${code}`);
  return outcome;
}

/** cancel.lua's codes. */
export const CancelCode = { Removed: 1, Active: 2, None: 0 } as const;

/** scheduler-upsert.lua's codes (the outcome is the same number: 0 unchanged, 1 created, 2 updated). */
export const UpsertCode = { Unchanged: 0, Created: 1, Updated: 2 } as const;

/**
 * Per-fire outcome of scheduler-tick.lua: {@link TickCode.Fired}, {@link TickCode.Stale} (the entry was removed or
 * revised since it was read: reload), or a positive number: the entry's floor (a scheduler already fired this tick
 * or a later one; nothing done).
 */
export type TickCode = number;
/** Named values of {@link TickCode}. */
export const TickCode = { Fired: 0, Stale: -1 } as const;

/** The error an enqueue outcome stands for, or undefined for success. */
export function enqueueError(
  outcome: EnqueueOutcome,
  task: { id: string; queue: string; type: string },
): TaskqError | undefined {
  if (outcome === 'conflict') return new TaskIdConflictError(task.id, task.queue);
  if (outcome === 'duplicate') return new DuplicateTaskError(task.queue, task.type);
  return undefined;
}

/**
 * The error a per-task transition's outcome stands for, or undefined for success.
 * @param op the operation, for the message (`runTask`)
 * @param allowed the states it applies to, for the message (`scheduled, retry or archived`)
 */
export function taskOpError(
  outcome: TaskOpOutcome,
  op: string,
  id: string,
  queue: string,
  allowed: string,
): TaskqError | undefined {
  if (outcome === 'ok') return undefined;
  if (outcome === 'not-found') return new TaskNotFoundError(id, queue);
  return new InvalidStateError(
    `${op}: task "${id}" in queue "${queue}" is ${outcome}; ${op} applies to ${allowed} tasks`,
  );
}
