export { TASKQ_TRANSPORT, TASKQ_MODULE_OPTIONS } from './taskq.constants.js';
export { TaskqStatus, type TaskqServerEvents, type TaskqClientEvents } from './taskq.events.js';
export { TaskqContext, type TaskqContextArgs } from './taskq.context.js';
export { TaskqServer, type TaskqServerOptions } from './taskq.server.js';
export { TaskqClient, DEFAULT_SEND_TIMEOUT_MS, type TaskqClientOptions } from './taskq.client.js';
export { TaskRecord, TaskRecordBuilder, type TaskRecordOptions } from './task-record.js';
export {
  TaskHandler,
  type TaskHandlerOptions,
  type TaskHandlerResult,
  type TypedTaskHandlerDecorator,
} from './task-handler.decorator.js';
export { PeriodicTask, type PeriodicTaskOptions } from './periodic-task.decorator.js';
export { TaskqModule, type TaskqModuleOptions, type TaskqModuleAsyncOptions } from './taskq.module.js';
export { TaskqLifecycle } from './taskq.lifecycle.js';
export type { TaskqSerializer, TaskqDeserializer } from './taskq-codec.js';
