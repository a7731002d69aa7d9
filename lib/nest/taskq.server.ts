import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler, type ReadPacket } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { InvalidOptionError, InvalidStateError, NoHandlerError } from '../core/errors.js';
import { describeConnection, isMemoryConnection } from '../core/broker/open-broker.js';
import { DEFAULT_PREFIX, validatePrefix, validateTaskType, type TaskqOptions } from '../core/options.js';
import type { PeriodicOptions } from '../core/periodic/entry.js';
import { TaskScheduler } from '../core/periodic/scheduler.js';
import type { PeriodicEntryInput } from '../core/periodic/scheduler-options.js';
import type { Task } from '../core/task.js';
import { TaskWorker } from '../core/worker.js';
import { resolveWorkerOptions, type WorkerOptions } from '../core/worker-options.js';
import { installRpcExceptionsHook } from './rpc-exceptions.hook.js';
import { readTaskqExtras } from './task-handler.decorator.js';
import { resolveTaskError } from './task-error.js';
import { codecFromNest, type TaskqDeserializer, type TaskqSerializer } from './taskq-codec.js';
import { DEFAULT_PERIODIC_SOURCE, TASKQ_TRANSPORT } from './taskq.constants.js';
import { TaskqContext } from './taskq.context.js';
import { TaskqStatus, type TaskqServerEvents } from './taskq.events.js';

/** Options of {@link TaskqServer}: where Redis is, the worker's options, and the Nest-specific ones. */
export interface TaskqServerOptions extends TaskqOptions, WorkerOptions {
  /**
   * Run the periodic-task scheduler in this process (it enqueues each tick once across every replica; running it on
   * every replica is safe and survives the loss of any of them). `@PeriodicTask` entries are registered either way.
   * @defaultValue true
   */
  scheduler?: boolean;
  /**
   * The `source` under which this server syncs its `@PeriodicTask` entries: at each start the source's entries are
   * replaced by the decorated ones (an entry removed from the code is removed from Redis). Give each service its own
   * source when several services with different `@PeriodicTask` sets share one Redis prefix. With the default source
   * a server without any `@PeriodicTask` leaves the stored entries alone.
   * @defaultValue `'nest'`
   */
  periodicSource?: string;
  /**
   * Nest serializer: its `serialize(value)` becomes the payload codec's `encode` (synchronous, returns a JSON value).
   * Ignored when `codec` is given. Use the same pair as the producers' {@link TaskqClient}.
   * @defaultValue none (payloads stored as JSON)
   */
  serializer?: TaskqSerializer;
  /**
   * Nest deserializer: its `deserialize(value)` becomes the payload codec's `decode` (synchronous): what it returns
   * is the handler's `@Payload()`. Ignored when `codec` is given.
   * @defaultValue none (payloads stored as JSON)
   */
  deserializer?: TaskqDeserializer;
}

type Listener = (...args: never[]) => void;
type TaskRunner = (data: unknown, ctx: TaskqContext) => Promise<unknown>;

interface Binding {
  type: string;
  /** The Nest pattern it is registered under (the type, or the type and its step for a handler chain). */
  route: string;
  /** Its position in a handler chain (`@TaskHandler(type, { step })`). */
  step?: number;
  handler: MessageHandler;
  name: string;
  periodic: PeriodicEntryInput[];
}

const NOT_LISTENING =
  'TaskqServer is not listening yet: call app.startAllMicroservices() (or microservice.listen()) before unwrap()';

/**
 * The taskq transport: runs a core {@link TaskWorker} whose handlers are your `@TaskHandler` methods.
 *
 * ```ts
 * app.connectMicroservice({ strategy: new TaskqServer({ connection, concurrency: 20, queues: { critical: 6, default: 3 } }) });
 * await app.startAllMicroservices();
 * ```
 *
 * `status`, `on()` and `unwrap()` work as on Nest's own transports (`unwrap()` returns the TaskWorker); `close()`
 * stops fetching, waits up to `shutdownTimeout` for running tasks and gives unfinished ones back to their queue.
 * Work runs through Nest's processing hooks, so tracing SDKs (`@nestjs/observe`) see every task.
 */
export class TaskqServer extends Server<TaskqServerEvents, TaskqStatus> implements CustomTransportStrategy {
  /** {@link TASKQ_TRANSPORT}: only handlers declared for this transport are bound to it. */
  override transportId: symbol = TASKQ_TRANSPORT;
  /** Handler failures are awaited and reach the retry logic, so Nest need not report them itself. */
  override readonly propagatesEventHandlerErrors = true;
  protected override readonly logger = new Logger(TaskqServer.name);

  private worker?: TaskWorker;
  private scheduler?: TaskScheduler;
  private readonly pendingListeners: [keyof TaskqServerEvents, Listener][] = [];
  private readonly runners = new Map<string, TaskRunner>();
  /** Handler names per task type, to report two methods bound to one type (Nest would silently keep one). */
  private readonly boundNames = new Map<string, string[]>();
  private closing?: Promise<void>;
  private lastStatus?: TaskqStatus;
  private readonly defaultStartHook: Server['onProcessingStartHook'];

  /**
   * @throws InvalidOptionError for an invalid option (concurrency, queues, durations, prefix...), here rather than at
   *   `listen()`.
   */
  constructor(private readonly options: TaskqServerOptions = {}) {
    super();
    resolveWorkerOptions(options);
    if (options.prefix !== undefined) validatePrefix(options.prefix);
    if (
      options.periodicSource !== undefined &&
      (typeof options.periodicSource !== 'string' || options.periodicSource.length === 0)
    ) {
      throw new InvalidOptionError(
        'periodicSource',
        `got ${JSON.stringify(options.periodicSource)}; expected a non-empty string`,
      );
    }
    installRpcExceptionsHook();
    this.defaultStartHook = this.onProcessingStartHook;
  }

  /**
   * Starts the worker (and the periodic scheduler). Calls `callback()` once fetching runs, or `callback(err)` when
   * Redis cannot be reached or the handlers are invalid (two methods for one type, an empty type).
   */
  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    try {
      await this.start();
    } catch (err) {
      await this.stopQuietly();
      callback(err);
      return;
    }
    callback();
  }

  /** Graceful shutdown (idempotent): stop fetching, let running tasks finish or give them back, close connections. */
  close(): Promise<void> {
    this.closing ??= this.shutdownAll();
    return this.closing;
  }

  /**
   * Subscribes to the worker's events (`status`, `error`, `active`, `completed`, `failed`, `archived`), before or
   * after `listen()`.
   */
  on<K extends keyof TaskqServerEvents>(event: K, callback: TaskqServerEvents[K]): void {
    const listener = callback as unknown as Listener;
    if (this.worker) this.worker.on(event, listener as never);
    else this.pendingListeners.push([event, listener]);
  }

  /**
   * Where this server looks for tasks: the connection (without credentials) and the key prefix. Producers must use
   * the same pair (TaskqModule warns at startup when its own configuration and a server's differ).
   */
  get configuration(): { connection: string; prefix: string } {
    return { connection: describeConnection(this.options.connection), prefix: this.options.prefix ?? DEFAULT_PREFIX };
  }

  /** The core {@link TaskWorker}. @throws InvalidStateError before `listen()` */
  unwrap<T = TaskWorker>(): T {
    if (!this.worker) throw new InvalidStateError(NOT_LISTENING);
    return this.worker as T;
  }

  /** Records which method is bound to which type (Nest calls this for every handler of this transport). */
  override addHandler(
    pattern: unknown,
    callback: MessageHandler,
    isEventHandler = false,
    extras: Record<string, unknown> = {},
  ): void {
    const route = this.normalizePattern(pattern as string);
    const names = this.boundNames.get(route) ?? [];
    names.push(
      readTaskqExtras(extras)?.handler ?? `an @EventPattern/@MessagePattern handler for "${route}" without a transport`,
    );
    this.boundNames.set(route, names);
    super.addHandler(pattern, callback, isEventHandler, extras);
  }

  /**
   * Runs one task through the handler bound to `pattern`: processing hooks, guards, interceptors, pipes, filters,
   * the method, and the returned stream awaited (like `ServerKafka`). Rejects with the error the retry logic acts on.
   */
  override async handleEvent(pattern: string, packet: ReadPacket, context: TaskqContext): Promise<unknown> {
    const runner = this.runners.get(pattern) ?? this.runnerFor(this.getHandlerByPattern(pattern), pattern);
    return runner(packet.data, context);
  }

  private async start(): Promise<void> {
    if (this.worker) throw new InvalidStateError('TaskqServer.listen() was already called');
    const bindings = this.collectBindings();
    const { scheduler: runScheduler, periodicSource, serializer, deserializer, ...rest } = this.options;
    const codec = codecFromNest({ codec: rest.codec, serializer, deserializer });
    const worker = new TaskWorker({ ...rest, codec });
    this.worker = worker;
    this.watch(worker);
    for (const [event, listener] of this.pendingListeners.splice(0)) worker.on(event, listener as never);
    for (const [type, group] of groupSteps(bindings)) {
      const handlers = group.map((binding) => {
        const runner = this.runnerFor(binding.handler, binding.type);
        this.runners.set(binding.route, runner);
        return (task: Task) => runner(task.payload, new TaskqContext([task]));
      });
      worker.handle(type, ...handlers);
    }
    if (bindings.length === 0) {
      this.logger.warn(
        'TaskqServer started without any @TaskHandler: no task will be processed. Handlers must be methods of a ' +
          '@Controller() class of a module the app imports.',
      );
    }
    await worker.start();
    const periodic = bindings.flatMap((b) => b.periodic);
    if (periodic.length > 0 || periodicSource !== undefined || runScheduler !== false) {
      // Shares the worker's command connection (borrowed, so the scheduler never closes it); in memory, the store.
      const scheduler = new TaskScheduler({
        connection: isMemoryConnection(rest.connection) ? rest.connection : worker.redis,
        prefix: rest.prefix,
        codec,
        logger: this.logger,
      });
      this.scheduler = scheduler;
      if (periodic.length > 0 || periodicSource !== undefined) {
        await scheduler.sync(periodicSource ?? DEFAULT_PERIODIC_SOURCE, periodic);
      }
      if (runScheduler !== false) await scheduler.start();
    }
    this.setStatus(TaskqStatus.CONNECTED);
    const types = bindings.map((b) => b.type);
    if (types.length > 0) this.logger.log(`Processing task types: ${types.join(', ')}`);
  }

  /** Reads the bound handlers, failing on an empty type or two methods for one type. */
  private collectBindings(): Binding[] {
    const bindings: Binding[] = [];
    for (const [route, handler] of this.messageHandlers) {
      const meta = readTaskqExtras(handler.extras);
      const names = this.boundNames.get(route) ?? [];
      const name = meta?.handler ?? names[0] ?? `the handler of "${route}"`;
      const type = meta?.type ?? route;
      if (meta?.step !== undefined && (!Number.isInteger(meta.step) || meta.step < 0 || meta.step > 1000)) {
        throw new InvalidOptionError(
          'step',
          `@TaskHandler on ${name}: got step ${String(meta.step)}; expected an integer from 0 to 1000`,
        );
      }
      try {
        validateTaskType(type);
      } catch {
        throw new InvalidOptionError(
          'type',
          `@TaskHandler on ${name}: the task type must be a non-empty string of at most 256 characters`,
        );
      }
      if (names.length > 1) {
        throw new InvalidOptionError(
          'type',
          meta?.step === undefined
            ? `task type "${type}" has ${names.length} handlers: ${names.join(' and ')}; a task type needs exactly one ` +
                '@TaskHandler (or several with distinct { step } numbers: a handler chain)'
            : `task type "${type}" has ${names.length} handlers for step ${meta.step}: ${names.join(' and ')}; each ` +
                'step of a handler chain needs exactly one method',
        );
      }
      const periodic = (meta?.periodic ?? []).map((p): PeriodicEntryInput => ({
        cronspec: p.cronspec,
        type,
        payload: p.payload,
        options: p.options as PeriodicOptions,
      }));
      bindings.push({ type, route, step: meta?.step, handler, name, periodic });
    }
    groupSteps(bindings); // validates the handler chains now, so listen() fails naming the methods
    return bindings;
  }

  /** Builds the per-type function the worker calls; precomputed at listen so the per-task path stays lean. */
  private runnerFor(handler: MessageHandler | null, type: string): TaskRunner {
    if (!handler) {
      return () => Promise.reject(new NoHandlerError(type, `no @TaskHandler for task type "${type}"`));
    }
    return (data, ctx) => {
      // Without tracing hooks installed, skip the hook plumbing (two closures and a promise per task).
      if (this.onProcessingStartHook === this.defaultStartHook && !this.onProcessingEndHook) {
        return this.execute(handler, data, ctx);
      }
      return this.executeWithHooks(handler, data, ctx);
    };
  }

  private async execute(handler: MessageHandler, data: unknown, ctx: TaskqContext): Promise<unknown> {
    try {
      const out: unknown = await handler(data, ctx);
      // A handler with interceptors (or one that failed) returns a stream that must be subscribed to run at all.
      return isObservable(out) ? await lastValueFrom(out, { defaultValue: undefined }) : out;
    } catch (err) {
      throw resolveTaskError(err, ctx);
    }
  }

  private executeWithHooks(handler: MessageHandler, data: unknown, ctx: TaskqContext): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const started = this.runWithProcessingHooks(ctx, async (runEndHook) => {
        try {
          resolve(await this.execute(handler, data, ctx));
        } catch (err) {
          reject(err);
          // Rethrown so the start hook's promise (what tracers await) sees the failure too.
          throw err;
        } finally {
          runEndHook();
        }
      }) as unknown;
      if (started instanceof Promise) started.catch(() => undefined);
    });
  }

  private watch(worker: TaskWorker): void {
    worker.on('status', (status) => {
      if (status === 'connected' && this.lastStatus === TaskqStatus.RECONNECTING)
        this.logger.log('Reconnected to Redis');
      if (status === 'reconnecting' && this.lastStatus !== TaskqStatus.RECONNECTING) {
        this.logger.warn('Lost the connection to Redis; reconnecting');
      }
      this.setStatus(status as TaskqStatus);
    });
    worker.on('error', (err) => {
      if (this.lastStatus !== TaskqStatus.RECONNECTING) this.logger.error(`Worker error: ${err.message}`);
    });
    worker.on('failed', (task, err, willRetry) => {
      if (willRetry)
        this.logger.warn(
          `Task ${task.type} ${task.id} failed (retry ${task.retried + 1} of ${task.maxRetry} follows): ${err.message}`,
        );
    });
    worker.on('archived', (task, err) => {
      this.logger.error(`Task ${task.type} ${task.id} archived: ${err.message}`);
    });
  }

  private setStatus(status: TaskqStatus): void {
    this.lastStatus = status;
    this._status$.next(status);
  }

  private async shutdownAll(): Promise<void> {
    await this.stopQuietly();
    this.setStatus(TaskqStatus.DISCONNECTED);
  }

  private async stopQuietly(): Promise<void> {
    // The scheduler borrows the worker's connection: stop it before the worker closes that connection.
    for (const stop of [() => this.scheduler?.shutdown(), () => this.worker?.shutdown()]) {
      try {
        await stop();
      } catch (err) {
        this.logger.error(`Shutdown: ${String(err)}`);
      }
    }
  }
}

/**
 * The handlers of each type in run order: one, or a handler chain of steps 0, 1, 2... A type must not mix a plain
 * handler with steps, and its steps must be 0 to n-1 without gaps.
 * @throws InvalidOptionError naming the methods
 */
function groupSteps(bindings: readonly Binding[]): Map<string, Binding[]> {
  const byType = new Map<string, Binding[]>();
  for (const b of bindings) byType.set(b.type, [...(byType.get(b.type) ?? []), b]);
  for (const [type, group] of byType) {
    if (group.length === 1 && group[0].step === undefined) continue;
    const describe = group.map((b) => `${b.name} (step ${b.step ?? 'none'})`).join(', ');
    if (group.some((b) => b.step === undefined)) {
      throw new InvalidOptionError(
        'step',
        `task type "${type}" mixes a plain @TaskHandler with handler-chain steps: ${describe}; give every method a step`,
      );
    }
    group.sort((a, b) => (a.step ?? 0) - (b.step ?? 0));
    const missing = group.findIndex((b, i) => b.step !== i);
    if (missing >= 0) {
      throw new InvalidOptionError(
        'step',
        `the handler chain of task type "${type}" must have steps 0 to ${group.length - 1}, but has ${describe}; step ${missing} is missing`,
      );
    }
  }
  return byType;
}
