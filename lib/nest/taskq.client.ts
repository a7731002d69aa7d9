import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { isMemoryConnection } from '../core/broker/open-broker.js';
import { TaskClient } from '../core/client.js';
import type { WaitOptions } from '../core/client.js';
import { parseDuration, type Duration } from '../core/duration.js';
import type { EnqueueOptions } from '../core/enqueue-options.js';
import { InvalidOptionError, TaskTimeoutError } from '../core/errors.js';
import { validatePrefix, type TaskqOptions } from '../core/options.js';
import { resolveProducerLimits } from '../core/producer-options.js';
import type { PeriodicOptions } from '../core/periodic/entry.js';
import { TaskScheduler } from '../core/periodic/scheduler.js';
import type { TaskInfo } from '../core/task.js';
import type { Flow } from '../core/workflow/flow.js';
import type { WorkflowInfo, WorkflowOptions } from '../core/workflow/types.js';
import { isTaskDefinition, resolveTaskRef, type TaskDefinition } from '../core/task-definition.js';
import type { Observable } from 'rxjs';
import { TaskRecord } from './task-record.js';
import { codecFromNest, type TaskqDeserializer, type TaskqSerializer } from './taskq-codec.js';
import { TaskqStatus, type TaskqClientEvents } from './taskq.events.js';

/** Options of {@link TaskqClient}. */
export interface TaskqClientOptions extends TaskqOptions {
  /**
   * Nest serializer: its `serialize(payload)` becomes the payload codec's `encode` (synchronous, returns a JSON
   * value). Ignored when `codec` is given. Give the servers the same pair.
   * @defaultValue none (payloads stored as JSON)
   */
  serializer?: TaskqSerializer;
  /**
   * Nest deserializer: its `deserialize(value)` becomes the payload codec's `decode` (synchronous). Ignored when
   * `codec` is given.
   * @defaultValue none
   */
  deserializer?: TaskqDeserializer;
  /**
   * How long `send()` waits for the handler's result before it errors with TaskTimeoutError and stops waiting (the
   * task itself goes on: it is not canceled). Per call: `new TaskRecord(payload, { sendTimeout })`. `send()` waits
   * through the task's retries, so with the default retry policy (25 retries, back-off up to an hour) a failing
   * handler takes far longer than this: give RPC tasks `maxRetry: 0` or a small one. `false` waits as long as it takes.
   * @defaultValue `'30s'`
   */
  sendTimeout?: Duration | false;
}

/** Default {@link TaskqClientOptions.sendTimeout} (30 s). */
export const DEFAULT_SEND_TIMEOUT_MS = 30_000;

type Listener = (...args: never[]) => void;

/**
 * The producer: enqueue tasks from any service. Provided by `TaskqModule`, or usable as a `ClientsModule`
 * `customClass`.
 *
 * ```ts
 * await this.tasks.newTask('email:welcome', { userId }, { processIn: '10m', maxRetry: 5 });
 * this.tasks.emit('email:welcome', new TaskRecord({ userId }, { queue: 'critical' }));   // emits the TaskInfo
 * const html = await lastValueFrom(this.tasks.send<string>('report:render', { id }));     // the handler's result
 * ```
 *
 * Headers travel with a task: per call (`TaskRecord` options `headers`, or `newTask` options) and from
 * `setOnDispatchHook` (the packet's `metadata` becomes task headers, the call's own headers win). Handlers read them
 * with `ctx.getHeaders()`.
 */
export class TaskqClient extends ClientProxy<TaskqClientEvents, TaskqStatus> {
  private core?: TaskClient;
  private scheduler?: TaskScheduler;
  private readonly listeners: [keyof TaskqClientEvents, Listener][] = [];
  private closed = false;
  /** The core options: connection, prefix and the payload codec (from `codec`, or Nest's serializer pair). */
  private readonly coreOptions: TaskqOptions;
  /** undefined: wait forever. */
  private readonly sendTimeoutMs: number | undefined;

  /** @throws InvalidOptionError for an invalid option (prefix, enqueueTimeout, maxPayloadSize, sendTimeout) */
  constructor(options: TaskqClientOptions = {}) {
    super();
    const { serializer, deserializer, sendTimeout, ...rest } = options;
    if (rest.prefix !== undefined) validatePrefix(rest.prefix);
    resolveProducerLimits(rest);
    const resolved = resolveSendTimeout(sendTimeout, 'sendTimeout');
    this.sendTimeoutMs = resolved === undefined ? DEFAULT_SEND_TIMEOUT_MS : (resolved ?? undefined);
    this.coreOptions = { ...rest, codec: codecFromNest({ codec: rest.codec, serializer, deserializer }) };
  }

  /**
   * Enqueues a task.
   * @returns the stored task (id, queue, state `pending` or `scheduled`...)
   * @throws InvalidOptionError for an invalid type, option or unserializable payload (nothing is written);
   *   DuplicateTaskError (unique lock held); TaskIdConflictError (taskId exists)
   */
  newTask<P, R>(task: TaskDefinition<P, R>, payload: NoInfer<P>, options?: EnqueueOptions): Promise<TaskInfo<P, R>>;
  newTask<P>(type: string, payload: P, options?: EnqueueOptions): Promise<TaskInfo<P>>;
  async newTask(task: string | TaskDefinition<never, unknown>, payload: unknown, options?: EnqueueOptions) {
    // The core takes a type or a definition alike; its overloads only type-check the payload, done above already.
    return this.getCore().enqueue(task as string, payload, options);
  }

  /**
   * Enqueues many tasks in one round trip (TaskClient.enqueueMany): every task is validated before anything is
   * written; a unique lock or id conflict rejects the whole call after the others were written.
   */
  async newTasks(
    tasks: { type: string | TaskDefinition<never, unknown>; payload: unknown; options?: EnqueueOptions }[],
  ): Promise<TaskInfo[]> {
    return this.getCore().enqueueMany(tasks);
  }

  /** Reads a task (from `queue`, or searching every known queue). Null when there is no such task. */
  async getTask(id: string, queue?: string): Promise<TaskInfo | null> {
    return this.getCore().getTask(id, queue);
  }

  /**
   * Cancels a task: a waiting one is removed, an active one's AbortSignal fires and it is archived. False when not
   * found or already finished.
   */
  async cancel(id: string, queue?: string): Promise<boolean> {
    return this.getCore().cancel(id, queue);
  }

  /**
   * Waits for a task's result (TaskClient.waitForResult): TaskFailedError once it is archived, TaskTimeoutError after
   * `timeout`, TaskNotFoundError when it does not exist.
   */
  async waitForResult<R>(id: string, options?: WaitOptions): Promise<R> {
    return this.getCore().waitForResult<R>(id, options);
  }

  /** Enqueues a workflow (chain, group, chord): TaskClient.enqueueWorkflow. */
  async newWorkflow(flow: Flow, options?: WorkflowOptions): Promise<WorkflowInfo> {
    return this.getCore().enqueueWorkflow(flow, options);
  }

  /** Reads a workflow; null when there is none. */
  async getWorkflow(id: string): Promise<WorkflowInfo | null> {
    return this.getCore().getWorkflow(id);
  }

  /** Waits for a workflow's result (WorkflowFailedError when it fails). */
  async waitForWorkflow<R>(id: string, options?: { timeout?: Duration; signal?: AbortSignal }): Promise<R> {
    return this.getCore().waitForWorkflow<R>(id, options);
  }

  /** Cancels a running workflow. */
  async cancelWorkflow(id: string): Promise<boolean> {
    return this.getCore().cancelWorkflow(id);
  }

  /**
   * Registers a periodic task (durable in Redis; each tick fires once across every replica running a scheduler,
   * which every `TaskqServer` does by default). The same `options.id` updates the entry in place.
   * @returns the entry id
   */
  async newPeriodicTask(cronspec: string, type: string, payload: unknown, options?: PeriodicOptions): Promise<string> {
    return this.getScheduler().register(cronspec, type, payload, options);
  }

  /** Removes a periodic task. @returns true when it existed */
  async removePeriodicTask(id: string): Promise<boolean> {
    return this.getScheduler().unregister(id);
  }

  /** Creates the underlying {@link TaskClient} (done lazily by every call; connecting itself is ioredis's job). */
  async connect(): Promise<TaskClient> {
    return this.getCore();
  }

  /** Closes the connections the client created (never one you passed in). Pending `send()`s error. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const core = this.core;
    const scheduler = this.scheduler;
    this.core = undefined;
    this.scheduler = undefined;
    // The scheduler borrows the core client's connection: stop it first.
    await scheduler?.shutdown();
    await core?.close();
    this._status$.next(TaskqStatus.DISCONNECTED);
  }

  /** The core {@link TaskClient} (created on first use). Its `redis` is the command connection. */
  unwrap<T = TaskClient>(): T {
    return this.getCore() as T;
  }

  /** Subscribes to `status` and `error` (the core client's, see TaskqLifecycle). */
  override on<K extends keyof TaskqClientEvents>(event: K, callback: TaskqClientEvents[K]): void {
    const listener = callback as unknown as Listener;
    this.listeners.push([event, listener]);
    if (this.core) this.core.on(event, listener as never);
  }

  /**
   * `send(type | definition, payload | TaskRecord)`: enqueues and emits the handler's result. With a
   * {@link TaskDefinition} the payload is type-checked, the result typed, and the definition's options are the
   * defaults of the TaskRecord's.
   */
  override send<R, P>(pattern: TaskDefinition<P, R>, data: NoInfer<P> | TaskRecord<NoInfer<P>>): Observable<R>;
  // `any` defaults exactly as Nest's ClientProxy.send, so untyped calls keep compiling as they do on any transport.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override send<TResult = any, TInput = any>(pattern: string, data: TInput): Observable<TResult>;
  override send(pattern: string | TaskDefinition<never, unknown>, data: unknown): Observable<unknown> {
    const [type, packet] = withDefinition(pattern, data);
    return super.send(type, packet);
  }

  /** `emit(type | definition, payload | TaskRecord)`: enqueues and emits the TaskInfo (see {@link send}). */
  override emit<R, P>(
    pattern: TaskDefinition<P, R>,
    data: NoInfer<P> | TaskRecord<NoInfer<P>>,
  ): Observable<TaskInfo<P, R>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override emit<TResult = any, TInput = any>(pattern: string, data: TInput): Observable<TResult>;
  override emit(pattern: string | TaskDefinition<never, unknown>, data: unknown): Observable<unknown> {
    const [type, packet] = withDefinition(pattern, data);
    return super.emit(type, packet);
  }

  /** `emit(type, payload | TaskRecord)`: enqueues and resolves with the TaskInfo. */
  protected async dispatchEvent<T = TaskInfo>(packet: ReadPacket): Promise<T> {
    const { type, payload, options } = this.unpack(packet);
    return (await this.getCore().enqueue(type, payload, options)) as T;
  }

  /** `send(type, payload | TaskRecord)`: enqueues, waits for the result; unsubscribing stops waiting. */
  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const abort = new AbortController();
    let settled = false;
    const finish = (p: WritePacket): void => {
      if (settled || abort.signal.aborted) return;
      settled = true;
      callback(p);
    };
    (async () => {
      const { type, payload, options, sendTimeoutMs } = this.unpack(packet);
      const { info, result } = await this.getCore().enqueueAndWait<unknown>(type, payload, options, {
        signal: abort.signal,
        timeout: sendTimeoutMs,
      });
      const response = await result.catch((err: unknown) => {
        if (!(err instanceof TaskTimeoutError)) throw err;
        throw new TaskTimeoutError(
          `send("${type}"): no result within ${sendTimeoutMs} ms (sendTimeout); task "${info.id}" of queue ` +
            `"${info.queue}" goes on without a waiter`,
        );
      });
      finish({ response, isDisposed: true });
    })().catch((err: unknown) => finish({ err }));
    return () => {
      settled = true;
      abort.abort();
    };
  }

  private unpack(packet: ReadPacket): {
    type: string;
    payload: unknown;
    options: EnqueueOptions | undefined;
    sendTimeoutMs: number | undefined;
  } {
    const type = packet.pattern as string;
    const record = packet.data instanceof TaskRecord ? (packet.data as TaskRecord) : undefined;
    const payload: unknown = record ? record.data : packet.data;
    let sendTimeoutMs = this.sendTimeoutMs;
    let options: EnqueueOptions | undefined = record?.options;
    if (record && 'sendTimeout' in record.options) {
      const { sendTimeout, ...enqueueOptions } = record.options;
      const perCall = resolveSendTimeout(sendTimeout, 'sendTimeout');
      if (perCall !== undefined) sendTimeoutMs = perCall ?? undefined;
      options = enqueueOptions;
    }
    const metadata = (packet as ReadPacket & { metadata?: Record<string, string> }).metadata;
    if (metadata && Object.keys(metadata).length > 0) {
      options = { ...options, headers: { ...metadata, ...options?.headers } };
    }
    return { type, payload, options, sendTimeoutMs };
  }

  private getCore(): TaskClient {
    if (this.core) return this.core;
    if (this.closed) this.closed = false;
    const core = new TaskClient(this.coreOptions);
    this.core = core;
    this.watch(core);
    return core;
  }

  private getScheduler(): TaskScheduler {
    if (this.scheduler) return this.scheduler;
    // Shares the core client's command connection (a connection it does not own, so it never closes it); in memory,
    // the store.
    const { connection } = this.coreOptions;
    const shared = isMemoryConnection(connection) ? connection : this.getCore().redis;
    const scheduler = new TaskScheduler({ ...this.coreOptions, connection: shared });
    this.scheduler = scheduler;
    return scheduler;
  }

  private watch(core: TaskClient): void {
    core.on('status', (status) => this._status$.next(status as TaskqStatus));
    if (core.isReady) this._status$.next(TaskqStatus.CONNECTED);
    for (const [event, listener] of this.listeners) core.on(event, listener as never);
  }
}

/**
 * Reads a sendTimeout: ms, `null` for `false` (wait forever), undefined when not given.
 * @throws InvalidOptionError naming `field`
 */
function resolveSendTimeout(value: Duration | false | undefined, field: string): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === false) return null;
  const ms = parseDuration(value, field);
  if (ms === 0) throw new InvalidOptionError(field, 'got 0; expected a positive duration, or false to wait forever');
  return ms;
}

/**
 * The pattern and data a definition stands for: its type, and the payload in a TaskRecord whose options start from
 * the definition's. A missing payload is passed on as it is, so Nest refuses it as for any pattern.
 */
function withDefinition(pattern: string | TaskDefinition<never, unknown>, data: unknown): [string, unknown] {
  if (!isTaskDefinition(pattern)) return [pattern as string, data];
  if (data === undefined || data === null) return [pattern.type, data];
  const record = data instanceof TaskRecord ? (data as TaskRecord) : new TaskRecord(data);
  const { options } = resolveTaskRef(pattern, record.options);
  return [pattern.type, new TaskRecord(record.data, options)];
}
