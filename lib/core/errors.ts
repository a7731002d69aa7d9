/**
 * Every error code the library reports, each with its own class below. Codes are stable: match on `error.code`, not
 * on messages. The codes scripts return and the errors they become are mapped in one place:
 * broker/script-codes.ts.
 */
export type TaskqErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_CRONSPEC'
  | 'DUPLICATE_TASK'
  | 'TASK_ID_CONFLICT'
  | 'TASK_NOT_FOUND'
  | 'TASK_TIMEOUT'
  | 'TASK_FAILED'
  | 'TASK_CANCELED'
  | 'SKIP_RETRY'
  | 'LEASE_LOST'
  | 'NO_HANDLER'
  | 'CORRUPT_TASK'
  | 'DEADLINE_EXCEEDED'
  | 'SHUTDOWN'
  | 'CLOSED'
  | 'INVALID_STATE'
  | 'REDIS_UNAVAILABLE'
  | 'CORRUPT_QUEUE'
  | 'WORKFLOW_FAILED'
  | 'WORKFLOW_ID_CONFLICT'
  | 'WORKFLOW_NOT_FOUND'
  | 'WORKFLOW_CANCELED'
  | 'DRAIN_LIMIT';

/** Base class of every error the library throws; `code` tells them apart. */
export class TaskqError extends Error {
  /** A stable, machine-readable code. */
  readonly code: TaskqErrorCode;

  constructor(code: TaskqErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    // Keeps `instanceof` working when the class is transpiled to an older target.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** An option or argument was invalid; `field` names it and the message says what is allowed. Nothing was written. */
export class InvalidOptionError extends TaskqError {
  /** The option or argument that was rejected, e.g. `maxRetry` or `payload`. */
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_OPTION', `invalid ${field}: ${message}`, options);
    this.field = field;
  }
}

/**
 * A cronspec was rejected at registration: the message quotes it and says what is allowed. Nothing was stored. A bad
 * cronspec is a bad option (`instanceof InvalidOptionError` holds, `field` is `'cronspec'`), with a code of its own.
 */
export class InvalidCronspecError extends InvalidOptionError {
  override readonly code: TaskqErrorCode = 'INVALID_CRONSPEC';

  constructor(
    /** The rejected cronspec, as given. */
    readonly cronspec: string,
    reason: string,
  ) {
    super('cronspec', reason);
    this.message = `invalid cronspec ${JSON.stringify(cronspec)}: ${reason}`;
  }
}

/** A task with the same (queue, type, payload) holds the `unique` lock. */
export class DuplicateTaskError extends TaskqError {
  constructor(
    readonly queue: string,
    readonly type: string,
  ) {
    super(
      'DUPLICATE_TASK',
      `a task of type "${type}" with the same payload is already held by the unique lock in queue "${queue}"`,
    );
  }
}

/** A task with the caller-chosen `taskId` already exists in the queue (in any state). */
export class TaskIdConflictError extends TaskqError {
  constructor(
    readonly taskId: string,
    readonly queue: string,
  ) {
    super('TASK_ID_CONFLICT', `a task with id "${taskId}" already exists in queue "${queue}"`);
  }
}

/** No task with this id exists (or it no longer does: completed without retention, deleted). */
export class TaskNotFoundError extends TaskqError {
  constructor(
    readonly taskId: string,
    readonly queue?: string,
  ) {
    super('TASK_NOT_FOUND', `task "${taskId}" was not found${queue ? ` in queue "${queue}"` : ''}`);
  }
}

/** A wait or an attempt ran out of time (per-attempt timeout, or `waitForResult`'s timeout). */
export class TaskTimeoutError extends TaskqError {
  constructor(message: string) {
    super('TASK_TIMEOUT', message);
  }
}

/** The attempt was stopped because the task passed its absolute `deadline`. */
export class DeadlineExceededError extends TaskqError {
  constructor(
    readonly taskId: string,
    readonly deadline: Date,
  ) {
    super('DEADLINE_EXCEEDED', `task "${taskId}" passed its deadline ${deadline.toISOString()}`);
  }
}

/** The task was archived: `lastError` is its last failure. Rejected by `waitForResult` and `send()`. */
export class TaskFailedError extends TaskqError {
  constructor(
    readonly taskId: string,
    readonly lastError: string,
  ) {
    super('TASK_FAILED', lastError);
  }
}

/**
 * Thrown by a handler: archive the task now, without further retries (Asynq's SkipRetry, BullMQ's
 * UnrecoverableError).
 */
export class SkipRetryError extends TaskqError {
  constructor(message = 'skip retry', options?: { cause?: unknown }) {
    super('SKIP_RETRY', message, options);
  }
}

/** The reason a task's AbortSignal fires when the task is canceled through `TaskClient.cancel`. */
export class TaskCanceledError extends TaskqError {
  constructor(taskId: string) {
    super('TASK_CANCELED', `task "${taskId}" was canceled`);
  }
}

/** The reason a task's AbortSignal fires when its lease was lost (another worker may run it now). */
export class LeaseLostError extends TaskqError {
  constructor(taskId: string) {
    super('LEASE_LOST', `the lease of task "${taskId}" was lost; the task will run again elsewhere`);
  }
}

/** The reason a task's AbortSignal fires when the worker shuts down before the task finished. */
export class ShutdownError extends TaskqError {
  constructor() {
    super('SHUTDOWN', 'the worker is shutting down; the task goes back to the head of its queue');
  }
}

/** A task's type has no handler in the worker that claimed it; the task is retried (another worker may have one). */
export class NoHandlerError extends TaskqError {
  constructor(
    readonly type: string,
    message = `no handler for task type "${type}"`,
  ) {
    super('NO_HANDLER', message);
  }
}

/** A stored task record cannot be decoded (written by hand, by another version, or damaged); it is archived. */
export class CorruptTaskError extends TaskqError {
  constructor(reason: string) {
    super('CORRUPT_TASK', `corrupt task message: ${reason}`);
  }
}

/**
 * A key of a queue holds the wrong kind of value (overwritten by hand, or by another program on the same prefix), so
 * the queue cannot be used until it is repaired. Other queues are not affected.
 */
export class CorruptQueueError extends TaskqError {
  constructor(
    readonly queue: string,
    /** The key that holds the wrong kind of value. */
    readonly key: string,
    /** The Redis type the key must have. */
    readonly expected: string,
    /** The Redis type it has. */
    readonly actual: string,
    options?: { cause?: unknown },
  ) {
    super(
      'CORRUPT_QUEUE',
      `queue "${queue}" is corrupt: key "${key}" holds a ${actual}, expected a ${expected} (repair or delete the key)`,
      options,
    );
  }
}

/** An operation on a closed client, worker, scheduler or inspector. */
export class ClosedError extends TaskqError {
  constructor(what: string) {
    super('CLOSED', `${what} is closed`);
  }
}

/** The object or task is not in a state that allows the operation (e.g. running an active task). */
export class InvalidStateError extends TaskqError {
  constructor(message: string) {
    super('INVALID_STATE', message);
  }
}

/**
 * Redis did not answer in time (at start, or for a producer call): `address` says where it was looked for.
 * `mayHaveWritten` tells the two cases of a rejected enqueue apart: false, the command was never sent (nothing was
 * written; retrying is safe); true, it was sent and Redis may still carry it out, so retry with the same caller-chosen
 * `taskId`: a TaskIdConflictError then means the first attempt landed.
 */
export class RedisUnavailableError extends TaskqError {
  /** True when the command was sent before the timeout and may still be carried out. */
  readonly mayHaveWritten: boolean;

  constructor(
    readonly address: string,
    message: string,
    options?: { cause?: unknown; mayHaveWritten?: boolean },
  ) {
    super('REDIS_UNAVAILABLE', message, options);
    this.mayHaveWritten = options?.mayHaveWritten ?? false;
  }
}

/** Which task made a workflow fail, and why. */
export interface WorkflowFailure {
  /** The task that was archived or canceled. */
  taskId: string;
  type: string;
  queue: string;
  /** Its last error. */
  error: string;
}

/** The workflow failed: a task was archived (retries exhausted, SkipRetryError) or canceled. `failure` names it. */
export class WorkflowFailedError extends TaskqError {
  constructor(
    readonly workflowId: string,
    readonly failure: WorkflowFailure,
  ) {
    super(
      'WORKFLOW_FAILED',
      `workflow "${workflowId}" failed: task "${failure.taskId}" (${failure.type}): ${failure.error}`,
    );
  }
}

/**
 * The testing kit's `drain()` ran more than `maxTasks` tasks and stopped (nothing new was started after that): most
 * likely a handler enqueues tasks without end. `types` lists the task types that ran, the most frequent first.
 */
export class DrainLimitError extends TaskqError {
  constructor(
    readonly maxTasks: number,
    readonly types: readonly { type: string; count: number }[],
  ) {
    super(
      'DRAIN_LIMIT',
      `drain() ran more than ${maxTasks} tasks (maxTasks) and stopped; the types that ran: ` +
        `${types.map((t) => `${t.type} (${t.count})`).join(', ')}. A handler that enqueues tasks without end loops ` +
        'forever; raise maxTasks if this many tasks are expected',
    );
  }
}

/** The workflow was canceled (waitForWorkflow rejects with this). */
export class WorkflowCanceledError extends TaskqError {
  constructor(readonly workflowId: string) {
    super('WORKFLOW_CANCELED', `workflow "${workflowId}" was canceled`);
  }
}

/** A workflow with the caller-chosen id exists already. */
export class WorkflowIdConflictError extends TaskqError {
  constructor(readonly workflowId: string) {
    super('WORKFLOW_ID_CONFLICT', `a workflow with id "${workflowId}" already exists`);
  }
}

/** No workflow with this id exists (or it expired after its retention). */
export class WorkflowNotFoundError extends TaskqError {
  constructor(readonly workflowId: string) {
    super('WORKFLOW_NOT_FOUND', `workflow "${workflowId}" was not found`);
  }
}

/** Turns anything thrown into an Error, keeping Errors as they are. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  if (thrown && typeof thrown === 'object' && 'message' in thrown && typeof thrown.message === 'string') {
    return new Error(thrown.message, { cause: thrown });
  }
  let text: string;
  try {
    text = JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = String(thrown);
  }
  return new Error(`non-Error thrown: ${text}`, { cause: thrown });
}
