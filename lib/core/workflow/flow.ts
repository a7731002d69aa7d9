import type { EnqueueOptions } from '../enqueue-options.js';
import { resolveTaskRef, type TaskDefinition } from '../task-definition.js';

/**
 * The workflow builders: plain, serializable descriptions of work (Celery's canvas, Machinery's chains and chords).
 * Nothing touches Redis until `TaskClient.enqueueWorkflow()`; every check happens there, naming the path of a bad
 * step (`steps[1].members[3].options.queue`).
 */

/** One task of a workflow. Its handler receives the result of the step before it as `task.previous`. */
export interface TaskSpec<P = unknown> {
  readonly kind: 'task';
  readonly type: string;
  readonly payload?: P;
  /** The member's own options (queue, retries, timeout, deadline, headers, unique...); `taskId` is not allowed. */
  readonly options?: EnqueueOptions;
}

/** Steps run one after another; each receives the previous step's result. Its result is the last step's. */
export interface ChainSpec {
  readonly kind: 'chain';
  readonly steps: readonly Flow[];
}

/** Members run in parallel, each with the same previous result; its result is the array of member results in order. */
export interface GroupSpec {
  readonly kind: 'group';
  readonly members: readonly Flow[];
}

/** A workflow: a task, a chain or a group, nested freely (a chain of groups, a group of chains). */
export type Flow = TaskSpec | ChainSpec | GroupSpec;

/**
 * A task step: a type, or a definition from `defineTask<P, R>()` (its payload type-checked, its default options
 * under the step's own).
 */
export function task<P>(definition: TaskDefinition<P, unknown>, payload?: P, options?: EnqueueOptions): TaskSpec<P>;
export function task<P>(type: string, payload?: P, options?: EnqueueOptions): TaskSpec<P>;
export function task<P>(type: string | TaskDefinition<P, unknown>, payload?: P, options?: EnqueueOptions): TaskSpec<P> {
  const ref = resolveTaskRef(type as string | TaskDefinition<never, unknown>, options);
  return { kind: 'task', type: ref.type, payload, options: ref.options };
}

/** Steps one after another; each step receives the previous step's result (an array after a group). */
export function chain(...steps: Flow[]): ChainSpec {
  return { kind: 'chain', steps };
}

/** Members in parallel; the group's result is the array of the members' results, in member order. */
export function group(...members: Flow[]): GroupSpec {
  return { kind: 'group', members };
}

/** A group and a callback that runs once every member is done, with their results in member order. */
export function chord(members: Flow[], callback: Flow): ChainSpec {
  return chain(group(...members), callback);
}
