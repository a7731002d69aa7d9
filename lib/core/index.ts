export { TaskClient, type WaitOptions } from './client.js';
export { TaskWorker, DEFAULT_START_TIMEOUT_MS, type WorkerInternals } from './worker.js';
export type { WorkerEvents } from './processor.js';
export * from './errors.js';
export * from './options.js';
export type { Duration } from './duration.js';
export { parseDuration } from './duration.js';
export type { Task, TaskInfo, TaskState, TaskHandlerFn } from './task.js';
export { TASK_STATES } from './task.js';
export { systemClock, SimulatedClock, type Clock } from './clock.js';
export { TaskInspector, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type QueueInfo, type ListTasksPage, type InspectorOptions } from './inspector.js';
export {
  TaskScheduler,
  DEFAULT_MISFIRE_GRACE_MS,
  DEFAULT_SYNC_INTERVAL_MS,
  FIRE_TIME_HEADER,
  PERIODIC_ID_HEADER,
  InvalidCronspecError,
  type CatchUpPolicy,
  type PeriodicOptions,
  type PeriodicEntry,
  type PeriodicEntryInput,
  type PeriodicFireEvent,
  type SchedulerLogger,
  type SchedulerOptions,
  type SyncResult,
} from './scheduler.js';
