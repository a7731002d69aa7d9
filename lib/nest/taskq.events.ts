import type { Task } from '../core/task.js';

/** Connection status of a {@link TaskqServer} or {@link TaskqClient}, as on Nest's own transports. */
export enum TaskqStatus {
  CONNECTED = 'connected',
  RECONNECTING = 'reconnecting',
  DISCONNECTED = 'disconnected',
}

/** Events a {@link TaskqServer} emits through `on(event, callback)`: the core worker's events. */
export type TaskqServerEvents = {
  /** The connection status changed. */
  status: (status: `${TaskqStatus}`) => void;
  /** A background error (connection, script...) that did not stop the worker. */
  error: (error: Error) => void;
  /** A task started. */
  active: (task: Task) => void;
  /** A task's handler succeeded with `result`. */
  completed: (task: Task, result: unknown) => void;
  /** A task's handler failed; `willRetry` is false when the task is archived instead. */
  failed: (task: Task, error: Error, willRetry: boolean) => void;
  /** A task was archived (SkipRetryError, refused by a guard or pipe, or out of retries). */
  archived: (task: Task, error: Error) => void;
};

/** Events a {@link TaskqClient} emits through `on(event, callback)`. */
export type TaskqClientEvents = {
  /** The connection status changed. */
  status: (status: `${TaskqStatus}`) => void;
  /** A connection error (ioredis retries by itself). */
  error: (error: Error) => void;
};
