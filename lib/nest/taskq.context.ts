import { BaseRpcContext } from '@nestjs/microservices';
import type { Task } from '../core/task.js';

/** Slot in which the transport keeps the error a handler's pipeline threw (see TaskqServer). */
export const CAPTURED_ERROR: unique symbol = Symbol('taskq:captured-error');

/** The arguments a {@link TaskqContext} wraps. */
export type TaskqContextArgs = [task: Task];

/**
 * The context of a task handler, injected with `@Ctx()`:
 *
 * ```ts
 * @TaskHandler('email:welcome')
 * welcome(@Payload() dto: WelcomeDto, @Ctx() ctx: TaskqContext) {
 *   if (ctx.getRetryCount() > 0) this.logger.warn(`retry ${ctx.getRetryCount()} of ${ctx.getTaskId()}`);
 *   return this.mailer.send(dto, { signal: ctx.getSignal() });
 * }
 * ```
 */
export class TaskqContext extends BaseRpcContext<TaskqContextArgs> {
  /** @internal the original error thrown by a guard, pipe, interceptor or the method, kept for the retry logic. */
  [CAPTURED_ERROR]?: unknown;

  constructor(args: TaskqContextArgs) {
    super(args);
  }

  /** The task id (unique within its queue). */
  getTaskId(): string {
    return this.args[0].id;
  }

  /** The task type, i.e. the `@TaskHandler` pattern. */
  getType(): string {
    return this.args[0].type;
  }

  /** The queue the task came from. */
  getQueue(): string {
    return this.args[0].queue;
  }

  /** How many times the task was retried before this attempt (0 on the first attempt). */
  getRetryCount(): number {
    return this.args[0].retried;
  }

  /** The task's retry budget. */
  getMaxRetry(): number {
    return this.args[0].maxRetry;
  }

  /** The headers the producer set (per call, or through the client's `setOnDispatchHook`). */
  getHeaders(): Record<string, string> {
    return this.args[0].headers;
  }

  /** The headers, under the name Nest's own contexts use for out-of-band packet metadata. */
  getMetadata(): Record<string, string> {
    return this.args[0].headers;
  }

  /** Fires on the attempt's timeout or deadline, on cancel, lease loss and shutdown; `reason` says which. */
  getSignal(): AbortSignal {
    return this.args[0].signal;
  }

  /** The absolute deadline of the task, if one was set. */
  getDeadline(): Date | undefined {
    return this.args[0].deadline;
  }

  /**
   * The result of the step before this one: in a workflow, the previous step's result (an array in member order after
   * a group; the WorkflowFailure for an onFailure task); in a handler chain, the previous step's return value.
   */
  getPrevious<T = unknown>(): T | undefined {
    return this.args[0].previous as T | undefined;
  }

  /** The workflow this task belongs to, if any. */
  getWorkflowId(): string | undefined {
    return this.args[0].workflowId;
  }

  /** The task type, as Nest's own transports name an operation (`@nestjs/observe` tracing reads this). */
  getPattern(): string {
    return this.args[0].type;
  }

  /** The task as the core worker handed it over. */
  getTask<P = unknown>(): Task<P> {
    return this.args[0] as Task<P>;
  }
}
