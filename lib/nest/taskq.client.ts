import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { TaskClient } from '../core/client.js';
import type { EnqueueOptions } from '../core/enqueue-options.js';
import type { TaskqOptions } from '../core/options.js';
import type { PeriodicOptions } from '../core/periodic/entry.js';
import { TaskScheduler } from '../core/periodic/scheduler.js';
import type { TaskInfo } from '../core/task.js';
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
}

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

  constructor(options: TaskqClientOptions = {}) {
    super();
    const { serializer, deserializer, ...rest } = options;
    this.coreOptions = { ...rest, codec: codecFromNest({ codec: rest.codec, serializer, deserializer }) };
  }

  /**
   * Enqueues a task.
   * @returns the stored task (id, queue, state `pending` or `scheduled`...)
   * @throws InvalidOptionError for an invalid type, option or unserializable payload (nothing is written);
   *   DuplicateTaskError (unique lock held); TaskIdConflictError (taskId exists)
   */
  async newTask<P>(type: string, payload: P, options?: EnqueueOptions): Promise<TaskInfo<P>> {
    return this.getCore().enqueue(type, payload, options);
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
      const { type, payload, options } = this.unpack(packet);
      const { result } = await this.getCore().enqueueAndWait<unknown>(type, payload, options, {
        signal: abort.signal,
      });
      const response = await result;
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
  } {
    const type = packet.pattern as string;
    const record = packet.data instanceof TaskRecord ? (packet.data as TaskRecord) : undefined;
    const payload: unknown = record ? record.data : packet.data;
    let options: EnqueueOptions | undefined = record?.options;
    const metadata = (packet as ReadPacket & { metadata?: Record<string, string> }).metadata;
    if (metadata && Object.keys(metadata).length > 0) {
      options = { ...options, headers: { ...metadata, ...options?.headers } };
    }
    return { type, payload, options };
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
    // Shares the core client's command connection (a connection it does not own, so it never closes it).
    const scheduler = new TaskScheduler({ ...this.coreOptions, connection: this.getCore().redis });
    this.scheduler = scheduler;
    return scheduler;
  }

  private watch(core: TaskClient): void {
    core.on('status', (status) => this._status$.next(status as TaskqStatus));
    if (core.isReady) this._status$.next(TaskqStatus.CONNECTED);
    for (const [event, listener] of this.listeners) core.on(event, listener as never);
  }
}
