/** The states a task moves through (see docs/architecture.md for the state machine). */
export type TaskState = 'pending' | 'active' | 'scheduled' | 'retry' | 'archived' | 'completed';

/** All task states, in lifecycle order. */
export const TASK_STATES: readonly TaskState[] = ['pending', 'active', 'scheduled', 'retry', 'archived', 'completed'];

/** A snapshot of a task as stored in Redis. */
export interface TaskInfo<P = unknown, R = unknown> {
  /** The task id, unique within its queue. */
  id: string;
  /** The queue the task lives in. */
  queue: string;
  /** The task type, which selects the handler. */
  type: string;
  /** The payload, decoded. */
  payload: P;
  /** The current state. */
  state: TaskState;
  /** How many retries are allowed after the first attempt. */
  maxRetry: number;
  /** How many times the task failed and was retried so far. */
  retried: number;
  /** The message of the last failure, if any. */
  lastError?: string;
  /** When the last failure happened. */
  lastFailedAt?: Date;
  /** The per-attempt timeout in milliseconds. */
  timeout?: number;
  /** The absolute deadline, if one was set. */
  deadline?: Date;
  /** When a scheduled or retry task becomes pending. */
  nextProcessAt?: Date;
  /** When the task completed (only kept with `retention`). */
  completedAt?: Date;
  /** The handler's return value (only kept with `retention`, or delivered to `waitForResult`). */
  result?: R;
  /** Headers that travel with the task. */
  headers: Record<string, string>;
}

/** What a handler receives. */
export interface Task<P = unknown> {
  /** The task id. */
  readonly id: string;
  /** The task type. */
  readonly type: string;
  /** The queue the task came from. */
  readonly queue: string;
  /** The decoded payload. */
  readonly payload: P;
  /** Headers set by the producer (trace ids, tenant...). */
  readonly headers: Record<string, string>;
  /** How many times this task was retried before this attempt. */
  readonly retried: number;
  /** The retry budget. */
  readonly maxRetry: number;
  /** The absolute deadline, if any. */
  readonly deadline?: Date;
  /** Fires on timeout, deadline, cancel, lease loss and shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  /**
   * The result of the step before this one: in a workflow, the previous step's result (an array in member order after
   * a group; the WorkflowFailure for an onFailure task); in a handler chain, the previous handler's output.
   */
  readonly previous?: unknown;
  /** The workflow this task belongs to, if any. */
  readonly workflowId?: string;
}

/** A handler for one task type. Its return value is the task's result. */
export type TaskHandlerFn<P = unknown, R = unknown> = (task: Task<P>) => Promise<R> | R;
