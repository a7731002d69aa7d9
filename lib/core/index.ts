// The engine's public surface, 'nestjs-taskq/core' (README.md: "Quick start (plain Node)", Options, Errors): the four
// public classes, their option and event types, the task types, the errors, durations and clocks. Internal helpers
// (resolvers, validators, the broker) are not exported.
export { TaskClient, type ClientOptions, type WaitOptions } from './client.js';
export { TaskWorker, DEFAULT_START_TIMEOUT_MS, type WorkerInternals } from './worker.js';
export {
  TaskInspector,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type QueueInfo,
  type ListTasksPage,
  type InspectorOptions,
} from './inspector.js';
export { TaskScheduler } from './periodic/scheduler.js';
export {
  DEFAULT_MISFIRE_GRACE_MS,
  DEFAULT_SYNC_INTERVAL_MS,
  type PeriodicEntry,
  type PeriodicEntryInput,
  type SchedulerOptions,
  type SyncResult,
} from './periodic/scheduler-options.js';
export type { CatchUpPolicy, PeriodicOptions } from './periodic/entry.js';
export { FIRE_TIME_HEADER, PERIODIC_ID_HEADER } from './periodic/fire-message.js';
export type { PeriodicFireEvent, SchedulerLogger } from './periodic/ticker.js';
export * from './errors.js';
export {
  DEFAULT_PREFIX,
  DEFAULT_QUEUE,
  MAX_QUEUE_NAME_LENGTH,
  type RedisConnection,
  type SentinelAddress,
  type TaskqOptions,
} from './options.js';
export { DEFAULT_MAX_RETRY, DEFAULT_TIMEOUT_MS, type EnqueueOptions } from './enqueue-options.js';
export {
  DEFAULT_CONCURRENCY,
  DEFAULT_LEASE_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  defaultRetryDelay,
  type WorkerOptions,
} from './worker-options.js';
export { JSON_CODEC, type PayloadCodec } from './payload-codec.js';
export type { LifecycleEvents, WorkerEvents, BrokerStatus } from './events.js';
export { parseDuration, type Duration } from './duration.js';
export type { Task, TaskInfo, TaskState, TaskHandlerFn } from './task.js';
export { defineTask, type TaskDefinition, type PayloadOf, type ResultOf } from './task-definition.js';
export { TASK_STATES } from './task.js';
export { systemClock, SimulatedClock, type Clock } from './clock.js';
export {
  task,
  chain,
  group,
  chord,
  type Flow,
  type TaskSpec,
  type ChainSpec,
  type GroupSpec,
} from './workflow/flow.js';
export { MAX_WORKFLOW_TASKS } from './workflow/plan.js';
export {
  DEFAULT_WORKFLOW_RETENTION_MS,
  type WorkflowInfo,
  type WorkflowOptions,
  type WorkflowState,
  type WorkflowTaskInfo,
} from './workflow/types.js';
