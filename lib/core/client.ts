import { systemClock, type Clock } from './clock.js';
import type { EnqueueOptions } from './enqueue-options.js';
import { EnqueueBatcher } from './enqueue-batcher.js';
import type { Duration } from './duration.js';
import { ClosedError, InvalidOptionError } from './errors.js';
import { TaskqLifecycle, type BrokerInternals } from './lifecycle.js';
import { DEFAULT_QUEUE, validateQueueName, type TaskqOptions } from './options.js';
import { prepareTask } from './prepare-task.js';
import { ProducerBound } from './producer-bound.js';
import { resolveProducerLimits, type ProducerLimits } from './producer-options.js';
import { ResultWaiter, type WaitOptions } from './result-waiter.js';
import type { TaskInfo } from './task.js';
import { resolveTaskRef, type TaskDefinition } from './task-definition.js';
import { toTaskInfo } from './task-info.js';
import { uniqueLockOf } from './unique-lock.js';
import { WorkflowDispatcher } from './workflow/dispatcher.js';
import type { Flow } from './workflow/flow.js';
import { relayForRemoval } from './workflow/relay.js';
import type { WorkflowInfo, WorkflowOptions } from './workflow/types.js';
import { WorkflowClient } from './workflow/workflow-client.js';

export type { WaitOptions } from './result-waiter.js';

/** Options of a {@link TaskClient}. */
export interface ClientOptions extends TaskqOptions {
  /** Time source (for delays and deadlines). @defaultValue the store's clock for an in-memory store, else the system clock */
  clock?: Clock;
}

/**
 * Enqueues tasks and reads them back. Concurrent `enqueue` calls made in the same event-loop turn are sent as one
 * script call per queue (one round trip), so 100 calls in flight cost a handful of round trips.
 */
export class TaskClient extends TaskqLifecycle {
  private readonly clock: Clock;
  private readonly limits: ProducerLimits;
  private readonly bound: ProducerBound;
  private readonly batcher: EnqueueBatcher;
  private readonly waiter: ResultWaiter;
  private readonly workflows: WorkflowClient;

  constructor(options: ClientOptions & BrokerInternals = {}) {
    const limits = resolveProducerLimits(options);
    super(options, 'TaskClient', 'taskq:client');
    this.limits = limits;
    this.clock = options.clock ?? this.broker.clock ?? systemClock;
    this.bound = new ProducerBound(this.broker, limits.enqueueTimeoutMs);
    this.batcher = new EnqueueBatcher({ broker: this.broker.producer, clock: this.clock, bound: this.bound });
    this.waiter = new ResultWaiter({
      broker: this.broker.producer,
      notify: this.broker.notify,
      codec: this.codec,
      clock: this.clock,
    });
    this.workflows = new WorkflowClient({
      broker: this.broker,
      dispatcher: new WorkflowDispatcher({
        workflow: this.broker.workflow,
        producer: this.broker.producer,
        clock: this.clock,
      }),
      bound: this.bound,
      codec: this.codec,
      clock: this.clock,
    });
  }

  /**
   * Enqueues one task, of a type or of a {@link TaskDefinition} (its payload type-checked, its options the defaults
   * that `options` override).
   * @throws InvalidOptionError for an invalid type, option or unencodable payload (nothing is written).
   * @throws DuplicateTaskError when `unique` and the lock is held; TaskIdConflictError when `taskId` exists.
   */
  enqueue<P, R>(task: TaskDefinition<P, R>, payload: NoInfer<P>, options?: EnqueueOptions): Promise<TaskInfo<P, R>>;
  enqueue<P>(type: string, payload: P, options?: EnqueueOptions): Promise<TaskInfo<P>>;
  async enqueue(
    task: string | TaskDefinition<never, unknown>,
    payload: unknown,
    options?: EnqueueOptions,
  ): Promise<TaskInfo> {
    this.assertOpen();
    const ref = resolveTaskRef(task, options);
    const prepared = prepareTask(
      ref.type,
      payload,
      ref.options,
      false,
      this.clock.now(),
      this.codec,
      this.limits.maxPayloadSize,
    );
    return this.batcher.submit(prepared);
  }

  /**
   * Enqueues many tasks at once (one script call per queue and per 1000 tasks, written back to back). Every task is
   * validated before anything is written. A task that hits a unique lock or an id conflict rejects the whole call
   * with that error after the others were written; use `enqueue` for per-task outcomes.
   */
  async enqueueMany(
    tasks: { type: string | TaskDefinition<never, unknown>; payload: unknown; options?: EnqueueOptions }[],
  ): Promise<TaskInfo[]> {
    this.assertOpen();
    if (!Array.isArray(tasks))
      throw new InvalidOptionError('tasks', 'expected an array of { type, payload, options? }');
    const now = this.clock.now();
    const prepared = tasks.map((t, i) => {
      if (typeof t !== 'object' || t === null)
        throw new InvalidOptionError(`tasks[${i}]`, 'expected { type, payload, options? }');
      const ref = resolveTaskRef(t.type, t.options);
      return prepareTask(ref.type, t.payload, ref.options, false, now, this.codec, this.limits.maxPayloadSize);
    });
    return this.batcher.submitMany(prepared);
  }

  /**
   * Enqueues a task and waits for its result, registering the wait atomically with the enqueue (so even a task
   * finished within microseconds is not missed). Rejects with TaskFailedError once the task is archived.
   */
  enqueueAndWait<P, R>(
    task: TaskDefinition<P, R>,
    payload: NoInfer<P>,
    options?: EnqueueOptions,
    wait?: Omit<WaitOptions, 'queue'>,
  ): Promise<{ info: TaskInfo<P, R>; result: Promise<R> }>;
  enqueueAndWait<R>(
    type: string,
    payload: unknown,
    options?: EnqueueOptions,
    wait?: Omit<WaitOptions, 'queue'>,
  ): Promise<{ info: TaskInfo; result: Promise<R> }>;
  async enqueueAndWait(
    typeOrTask: string | TaskDefinition<never, unknown>,
    payload: unknown,
    options?: EnqueueOptions,
    wait: Omit<WaitOptions, 'queue'> = {},
  ): Promise<{ info: TaskInfo; result: Promise<unknown> }> {
    this.assertOpen();
    const ref = resolveTaskRef(typeOrTask, options);
    const task = prepareTask(
      ref.type,
      payload,
      ref.options,
      true,
      this.clock.now(),
      this.codec,
      this.limits.maxPayloadSize,
    );
    const queue = task.info.queue;
    await this.bound.run(() => this.waiter.subscribe(queue));
    const result = this.waiter.await<unknown>(queue, task.info.id, wait, false);
    result.catch(() => undefined);
    try {
      await this.batcher.submit(task);
    } catch (err) {
      this.waiter.reject(queue, task.info.id, err);
      throw err;
    }
    return { info: task.info, result };
  }

  /** Reads a task (from `queue`, or searching every known queue). Null when there is no such task. */
  async getTask(id: string, queue?: string): Promise<TaskInfo | null> {
    this.assertOpen();
    const found = await this.locate(id, queue);
    return found ? toTaskInfo(found.queue, id, found.stored, this.codec) : null;
  }

  /**
   * Waits for a task's result: resolves with the handler's return value when it completes, rejects with
   * TaskFailedError (message = last error) once it is archived, TaskTimeoutError on timeout, TaskNotFoundError when
   * the task does not exist (a task completed without retention is gone: use `enqueueAndWait` to never miss one).
   * Notified through pub/sub, not by polling.
   */
  async waitForResult<R>(id: string, options: WaitOptions = {}): Promise<R> {
    this.assertOpen();
    const queue = options.queue === undefined ? DEFAULT_QUEUE : validateQueueName(options.queue);
    await this.bound.run(() => this.waiter.subscribe(queue));
    const result = this.waiter.await<R>(queue, id, options, true);
    // Handled by the caller once returned; until then, don't let an early rejection count as unhandled.
    result.catch(() => undefined);
    if (options.signal?.aborted) return result;
    const stored = await this.bound.run(async () => {
      await this.broker.producer.addWaiter(queue, id);
      // The task may have finished before the waiter was registered: read its state once.
      return this.broker.producer.task(queue, id);
    });
    this.waiter.settleFromStore(queue, id, stored);
    return result;
  }

  /**
   * Cancels a task: a pending, scheduled or retry task is removed (true); an active task's AbortSignal fires and it
   * is archived with lastError "task … was canceled" unless it completes anyway (true). False when not found or
   * already finished.
   */
  async cancel(id: string, queue?: string): Promise<boolean> {
    this.assertOpen();
    const found = await this.locate(id, queue);
    if (!found) return false;
    const outcome = await this.bound.run(async () => {
      const result = await this.broker.producer.cancel(found.queue, id, {
        now: this.clock.now(),
        unique: uniqueLockOf(found.stored.message),
        relay: relayForRemoval(id, found.stored.message, 'x', `task "${id}" was canceled`),
      });
      if (result === 'active') await this.broker.producer.publishCancel(found.queue, id);
      return result;
    });
    return outcome !== 'none';
  }

  /**
   * Enqueues a workflow (chain, group, chord, nested freely): validates every step, stores the workflow and enqueues
   * its first tasks; later steps are enqueued as their inputs complete.
   * @throws InvalidOptionError naming the path of a bad step (`steps[1].members[3].options.queue`);
   *   WorkflowIdConflictError when `options.id` exists.
   */
  async enqueueWorkflow(flow: Flow, options?: WorkflowOptions): Promise<WorkflowInfo> {
    this.assertOpen();
    return this.workflows.enqueue(flow, options);
  }

  /** Reads a workflow and its tasks; null when there is none (or it expired after its retention). */
  async getWorkflow(id: string): Promise<WorkflowInfo | null> {
    this.assertOpen();
    return this.workflows.get(id);
  }

  /**
   * Waits for a workflow: resolves with its result (the last step's, an array after a group), rejects with
   * WorkflowFailedError (its `failure` names the task), WorkflowCanceledError, WorkflowNotFoundError, or
   * TaskTimeoutError after `timeout`. Notified, not polled.
   */
  async waitForWorkflow<R>(id: string, options?: { timeout?: Duration; signal?: AbortSignal }): Promise<R> {
    this.assertOpen();
    return this.workflows.wait<R>(id, options);
  }

  /** Cancels a running workflow: pending tasks removed, active ones' signals fire, nothing more enqueued. */
  async cancelWorkflow(id: string): Promise<boolean> {
    this.assertOpen();
    return this.workflows.cancel(id);
  }

  /** Closes the connections the client created (never one you passed in). Pending waits reject. */
  async close(): Promise<void> {
    if (!this.markClosed()) return;
    this.waiter.close('TaskClient');
    this.workflows.close(new ClosedError('TaskClient'));
    await this.closeBroker();
  }

  private locate(id: string, queue?: string) {
    if (queue !== undefined) validateQueueName(queue);
    return this.bound.run(() => this.broker.producer.locate(id, queue));
  }
}
