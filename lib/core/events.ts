import type { BrokerStatus } from './broker/broker.js';
import type { Task } from './task.js';

/**
 * The public event types, in one place. Every public class emits {@link LifecycleEvents}; the worker adds the task
 * events. Listeners are registered with `on(event, listener)`.
 */

/** The events every public class (TaskClient, TaskWorker, TaskScheduler, TaskInspector) emits. */
export interface LifecycleEvents {
  /** The connection status changed (`connected` after `reconnecting` is a reconnect). */
  status: [status: BrokerStatus];
  /** A background error (a connection error, a failed notification, a failed tick) that did not stop anything. */
  error: [error: Error];
}

/** Worker events and their arguments. */
export interface WorkerEvents extends LifecycleEvents {
  /** A task started. */
  active: [task: Task];
  /** A task's handler succeeded with `result`. */
  completed: [task: Task, result: unknown];
  /** A task's handler failed; `willRetry` is false when the task is archived instead. */
  failed: [task: Task, error: Error, willRetry: boolean];
  /** A task was archived (SkipRetryError, canceled, or out of retries). */
  archived: [task: Task, error: Error];
}

/** The part of an emitter the worker's components use to report task events. */
export interface WorkerEventEmitter {
  emit<K extends keyof WorkerEvents>(event: K, ...args: WorkerEvents[K]): boolean;
  listenerCount(event: keyof WorkerEvents): number;
}

export type { BrokerStatus } from './broker/broker.js';
