import { MessagePattern } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import type { TaskDefinition } from '../core/task-definition.js';
import { TASKQ_EXTRAS_KEY, TASKQ_TRANSPORT } from './taskq.constants.js';

/** Options of {@link TaskHandler}. */
export interface TaskHandlerOptions {
  /**
   * Extra values merged into the handler's Nest `extras` (readable by your own code via
   * `server.getHandlers().get(type)?.extras`).
   * @defaultValue `{}`
   */
  extras?: Record<string, unknown>;
  /**
   * This method's position in a handler chain: several methods with `@TaskHandler(type, { step: 0 })`,
   * `{ step: 1 }`... run one after another for one task, each receiving the previous one's return value through
   * `ctx.getPrevious()`, each checkpointed (a retry or a crash resumes at the step that failed).
   * @defaultValue none (the only handler of its type)
   */
  step?: number;
}

/** The Nest pattern of step `step` of a handler chain (each step is its own Nest handler). */
export function stepPattern(type: string, step: number): string {
  return `${type}\u0000step:${step}`;
}

/** What `@TaskHandler` stores in the handler's extras under {@link TASKQ_EXTRAS_KEY}. */
export interface TaskHandlerMetadata {
  /** The task type. */
  type: string;
  /** `ClassName.methodName`, for error messages. */
  handler: string;
  /** Its step in a handler chain, if any. */
  step?: number;
  /** Periodic entries declared with `@PeriodicTask` on the same method. */
  periodic?: PeriodicTaskMetadata[];
}

/** One `@PeriodicTask` declaration. */
export interface PeriodicTaskMetadata {
  cronspec: string;
  payload: unknown;
  options: Record<string, unknown>;
}

/** Reads the taskq part of a handler's extras, if any. */
export function readTaskqExtras(extras: Record<string, unknown> | undefined): Partial<TaskHandlerMetadata> | undefined {
  const value = extras?.[TASKQ_EXTRAS_KEY];
  return typeof value === 'object' && value !== null ? (value as Partial<TaskHandlerMetadata>) : undefined;
}

/** `ClassName.method` of a decorated method. */
export function describeMethod(target: object, key: string | symbol): string {
  const owner = typeof target === 'function' ? target : target.constructor;
  return `${(owner as { name?: string }).name ?? 'anonymous'}.${String(key)}`;
}

/** What a handler of a definition with result `R` may return: the result, a promise of it, or a stream ending with it. */
export type TaskHandlerResult<R> = R | Promise<R> | Observable<R>;

/**
 * The decorator `@TaskHandler(definition)` returns: the method must take the payload type first (if it takes
 * anything) and return the result type.
 */
export type TypedTaskHandlerDecorator<P, R> = <T extends (payload: P, ...rest: never[]) => TaskHandlerResult<R>>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<T>,
) => TypedPropertyDescriptor<T>;

/**
 * Binds a controller method to a task type, on the taskq transport only. Guards, interceptors, pipes and exception
 * filters apply as to any Nest handler. The method's return value (or the last value of a returned Observable) is
 * the task's result.
 *
 * A failure retries by the worker's policy, except: `SkipRetryError`, an `RpcException` (what guards and RPC pipes
 * throw) and a 4xx `HttpException` other than 408/429 (what `ValidationPipe` and the `Parse*Pipe`s throw) archive
 * the task at once, with the exception's message as `lastError`.
 *
 * The class must be a `@Controller()` (Nest discovers handlers only on controllers). Two methods for one type, or an
 * empty type, make the server's `listen()` fail naming the methods.
 *
 * With a definition from `defineTask<P, R>()`, the method is type-checked: its first parameter (the `@Payload()`)
 * takes `P`, and it returns `R` (or a promise or stream of it).
 *
 * @param task the task type, e.g. `'email:welcome'`, or its definition
 * @param options `step` makes the method one step of a handler chain (see {@link TaskHandlerOptions.step})
 */
export function TaskHandler<P, R>(
  task: TaskDefinition<P, R>,
  options?: TaskHandlerOptions,
): TypedTaskHandlerDecorator<P, R>;
export function TaskHandler(type: string, options?: TaskHandlerOptions): MethodDecorator;
export function TaskHandler(
  task: string | TaskDefinition<never, unknown>,
  options: TaskHandlerOptions = {},
): <T>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<T>) => TypedPropertyDescriptor<T> {
  const type = typeof task === 'object' && task !== null ? task.type : task;
  return (target, key, descriptor) => {
    const meta: TaskHandlerMetadata = { type, handler: describeMethod(target, key) };
    if (options.step !== undefined) meta.step = options.step;
    const previous = Reflect.getMetadata('microservices:pattern_extras', descriptor.value as object) as
      Record<string, unknown> | undefined;
    const earlier = readTaskqExtras(previous);
    if (earlier?.periodic) meta.periodic = earlier.periodic;
    // A step is validated when the server listens (a decorator that throws would break the import of the class).
    const pattern = options.step === undefined ? type : stepPattern(type, options.step);
    MessagePattern(pattern, TASKQ_TRANSPORT, { ...options.extras, [TASKQ_EXTRAS_KEY]: meta })(target, key, descriptor);
    return descriptor;
  };
}
