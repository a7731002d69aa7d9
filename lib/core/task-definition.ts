import { resolveEnqueueOptions, type EnqueueOptions } from './enqueue-options.js';
import { InvalidOptionError } from './errors.js';
import { validateTaskType } from './options.js';

declare const payloadType: unique symbol;
declare const resultType: unique symbol;

/**
 * A task type with its payload type `P`, its result type `R` and default enqueue options, from {@link defineTask}.
 * Producers (`TaskClient.enqueue`, `TaskqClient.newTask/emit/send`) type-check the payload against `P` and give back
 * `R`; `@TaskHandler(definition)` checks the handler's result against `R`.
 */
export interface TaskDefinition<P = unknown, R = unknown> {
  /** The task type. */
  readonly type: string;
  /** The defaults every enqueue of this type starts from; a call's own options override them. */
  readonly options: Readonly<EnqueueOptions>;
  /** Type-level only (never set): carries `P`. */
  readonly [payloadType]?: (payload: P) => void;
  /** Type-level only (never set): carries `R`. */
  readonly [resultType]?: () => R;
}

/** The payload type of a definition. */
export type PayloadOf<D> = D extends TaskDefinition<infer P, unknown> ? P : never;
/** The result type of a definition. */
export type ResultOf<D> = D extends TaskDefinition<never, infer R> ? R : never;

/**
 * Defines a task type with its payload and result types and default options:
 *
 * ```ts
 * const Welcome = defineTask<{ userId: number }, { sent: boolean }>('email:welcome', { queue: 'mail', maxRetry: 5 });
 * await client.enqueue(Welcome, { userId: 1 });                 // a wrong payload does not compile
 * await client.enqueue(Welcome, { userId: 1 }, { maxRetry: 1 }); // the call's options override the defaults
 * ```
 * @param defaults enqueue options every enqueue of the type starts from. @defaultValue `{}`
 * @throws InvalidOptionError for an invalid type or option (checked here, not at the first enqueue)
 */
export function defineTask<P = unknown, R = unknown>(
  type: string,
  defaults: EnqueueOptions = {},
): TaskDefinition<P, R> {
  validateTaskType(type);
  if (typeof defaults !== 'object' || defaults === null) {
    throw new InvalidOptionError('defaults', 'expected an object of enqueue options');
  }
  if ('taskId' in defaults) {
    throw new InvalidOptionError('taskId', 'a task id is chosen per enqueue; it cannot be a default of the definition');
  }
  resolveEnqueueOptions(defaults, Date.now());
  return Object.freeze({ type, options: Object.freeze({ ...defaults }) });
}

/** True for a {@link TaskDefinition} (a type given as a definition rather than a string). */
export function isTaskDefinition(value: unknown): value is TaskDefinition<never, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string' &&
    typeof (value as { options?: unknown }).options === 'object'
  );
}

/**
 * A type or a definition, with a call's options, as the type and the options in effect: the definition's defaults
 * overridden by the call's (headers merged, the call's winning).
 */
export function resolveTaskRef(
  task: string | TaskDefinition<never, unknown>,
  options: EnqueueOptions | undefined,
): { type: string; options: EnqueueOptions | undefined } {
  if (typeof task === 'string' || !isTaskDefinition(task)) return { type: task as string, options };
  const defaults = task.options;
  if (!options) return { type: task.type, options: defaults };
  const merged: EnqueueOptions = { ...defaults, ...options };
  if (defaults.headers && options.headers) merged.headers = { ...defaults.headers, ...options.headers };
  return { type: task.type, options: merged };
}
