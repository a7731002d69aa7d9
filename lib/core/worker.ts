import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { bounded } from './bounded.js';
import { RedisBroker } from './broker/redis-broker.js';
import { systemClock, type Clock } from './clock.js';
import { closeClient, connect, duplicate, type RedisClient } from './connection.js';
import { ClosedError, InvalidOptionError, TaskqError, toError } from './errors.js';
import { Forwarder } from './forwarder.js';
import { Heartbeat } from './heartbeat.js';
import { newTaskId } from './ids.js';
import { Janitor } from './janitor.js';
import {
  DEFAULT_PREFIX,
  resolveWorkerOptions,
  validatePrefix,
  validateTaskType,
  type PayloadCodec,
  type ResolvedWorkerOptions,
  type TaskqOptions,
  type WorkerOptions,
} from './options.js';
import { Processor, type WorkerEvents } from './processor.js';
import { Recoverer } from './recoverer.js';
import type { Task, TaskHandlerFn } from './task.js';
import { JSON_CODEC } from './task-info.js';
import { Waker } from './waker.js';

/** How long `start()` waits for Redis before rejecting. */
export const DEFAULT_START_TIMEOUT_MS = 10_000;
const JANITOR_INTERVAL_MS = 15_000;
/** How long shutdown waits for its final writes (requeue, acknowledgements) when Redis does not answer. */
const SHUTDOWN_WRITE_GRACE_MS = 1_000;

/** Extra knobs for tests and embedding. */
export interface WorkerInternals {
  /** Time source. @defaultValue the system clock */
  clock?: Clock;
  /** How long `start()` waits for Redis. @defaultValue 10s */
  startTimeout?: number;
}

type Listener<K extends keyof WorkerEvents> = (...args: WorkerEvents[K]) => void;

/**
 * Runs handlers for task types. `start()` connects and begins fetching; `shutdown()` stops fetching, waits up to
 * `shutdownTimeout` for running tasks, gives unfinished ones back to the head of their queue, and closes the
 * connections it created.
 */
export class TaskWorker {
  /** The command connection (yours if you passed an instance in). */
  readonly redis: RedisClient;
  /** The resolved options. */
  readonly options: ResolvedWorkerOptions;
  /** A random id naming this worker in Redis (its idle registrations and its own wake key). */
  readonly id = newTaskId();
  private readonly owned: boolean;
  private readonly broker: RedisBroker;
  private readonly codec: PayloadCodec;
  private readonly clock: Clock;
  private readonly startTimeoutMs: number;
  private readonly handlers = new Map<string, TaskHandlerFn>();
  private readonly events = new EventEmitter();
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private waker?: Waker;
  private processor?: Processor;
  private forwarder?: Forwarder;
  private heartbeat?: Heartbeat;
  private recoverer?: Recoverer;
  private janitor?: Janitor;
  private subscriber?: RedisClient;
  private shutdownPromise?: Promise<void>;

  constructor(options: TaskqOptions & WorkerOptions & WorkerInternals = {}) {
    this.options = resolveWorkerOptions(options);
    const prefix = validatePrefix(options.prefix ?? DEFAULT_PREFIX);
    this.codec = options.codec ?? JSON_CODEC;
    this.clock = options.clock ?? systemClock;
    this.startTimeoutMs = options.startTimeout ?? DEFAULT_START_TIMEOUT_MS;
    const { client, owned } = connect(options.connection, 'taskq:worker');
    this.redis = client;
    this.owned = owned;
    this.broker = new RedisBroker(client, prefix);
    this.events.on('error', () => undefined);
    this.watchConnection(client);
  }

  /** Registers the handler of a task type (before or after start). */
  handle<P = unknown, R = unknown>(type: string, handler: (task: Task<P>) => Promise<R> | R): this {
    validateTaskType(type);
    if (typeof handler !== 'function') throw new InvalidOptionError('handler', 'expected a function (task) => result');
    this.handlers.set(type, handler as TaskHandlerFn);
    return this;
  }

  /** The task types that have a handler. */
  get types(): string[] {
    return [...this.handlers.keys()];
  }

  /** True between a successful `start()` and `shutdown()`. */
  get running(): boolean {
    return this.state === 'running';
  }

  /** How many tasks run now. */
  get activeCount(): number {
    return this.processor?.size ?? 0;
  }

  /** Subscribes to worker events ('active', 'completed', 'failed', 'archived', 'error', 'status'). */
  on<K extends keyof WorkerEvents>(event: K, listener: Listener<K>): this {
    this.events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Removes an event listener. */
  off<K extends keyof WorkerEvents>(event: K, listener: Listener<K>): this {
    this.events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /**
   * Connects and starts fetching.
   * @throws when Redis cannot be reached within the start timeout (the connections are closed again).
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new TaskqError('INVALID_STATE', `TaskWorker.start(): the worker is ${this.state}`);
    this.state = 'starting';
    try {
      await this.waitForRedis();
      const queues = this.options.queues.map((q) => q.name);
      await this.broker.registerQueues(queues);
      const onError = (err: Error): void => this.emitError(err);
      this.waker = new Waker(this.redis, this.broker, queues, {
        workerId: this.id,
        leaseMs: this.options.leaseMs,
        clock: this.clock,
        onHandoff: (queue, handoff) => this.processor?.acceptHandoff(queue, handoff) ?? false,
        onError,
      });
      this.forwarder = new Forwarder(this.broker, queues, this.clock, onError);
      this.processor = new Processor(
        this.broker,
        this.options,
        this.handlers,
        this.codec,
        this.clock,
        this.waker,
        this.events,
        (queue, at) => this.forwarder?.noteDue(queue, at),
        (queue) => this.forwarder?.refresh(queue),
      );
      this.heartbeat = new Heartbeat(this.broker, this.processor, this.clock, this.options.leaseMs, onError);
      const recoverEvery = Math.min(5_000, Math.max(250, Math.floor(this.options.leaseMs / 2)));
      this.recoverer = new Recoverer(this.broker, queues, this.clock, recoverEvery, onError);
      this.janitor = new Janitor(this.broker, queues, this.clock, JANITOR_INTERVAL_MS, onError);
      await this.subscribeCancel();
      await this.forwarder.start();
      await this.recoverer.start();
      this.janitor.start();
      this.heartbeat.start();
      this.processor.start();
      this.state = 'running';
    } catch (err) {
      this.state = 'stopped';
      await this.closeConnections();
      throw err;
    }
  }

  /** Graceful shutdown (idempotent). */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      await this.closeConnections();
      return;
    }
    this.state = 'stopping';
    const processor = this.processor;
    this.forwarder?.shutdown();
    this.recoverer?.shutdown();
    this.janitor?.shutdown();
    const stopping = processor?.stopFetching();
    await this.waker?.close(SHUTDOWN_WRITE_GRACE_MS);
    // Every wait below is bounded: with Redis down, commands wait for a reconnect forever (maxRetriesPerRequest:
    // null), and a shutdown must still end. What could not be written is left to the lease recoverer.
    await bounded(stopping, this.options.shutdownTimeoutMs);
    if (processor) {
      await processor.waitForIdle(this.options.shutdownTimeoutMs);
      await bounded(processor.requeueRemaining(), SHUTDOWN_WRITE_GRACE_MS);
      await bounded(processor.drainAcks(), SHUTDOWN_WRITE_GRACE_MS);
    }
    this.heartbeat?.shutdown();
    this.state = 'stopped';
    await this.closeConnections();
  }

  private async closeConnections(): Promise<void> {
    if (this.subscriber) await closeClient(this.subscriber);
    if (this.owned) await closeClient(this.redis);
  }

  private async waitForRedis(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onError: ((err: Error) => void) | undefined;
    try {
      await Promise.race([
        this.redis.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new TaskqError('CLOSED', `Redis did not answer within ${this.startTimeoutMs} ms`)),
            this.startTimeoutMs,
          );
          onError = (err: Error) => reject(new TaskqError('CLOSED', `cannot connect to Redis: ${err.message}`, { cause: err }));
          this.redis.once('error', onError);
        }),
      ]);
    } finally {
      if (timer) clearTimeout(timer);
      if (onError) this.redis.off('error', onError);
    }
  }

  private async subscribeCancel(): Promise<void> {
    const sub = duplicate(this.redis, 'taskq:worker:sub');
    this.subscriber = sub;
    sub.on('error', (err: Error) => {
      if (this.state === 'running') this.emitError(err);
    });
    sub.on('message', (_channel: string, message: string) => {
      try {
        const [queue, id] = JSON.parse(message) as [string, string];
        this.processor?.cancel(queue, id);
      } catch (err) {
        this.emitError(toError(err));
      }
    });
    await (sub as Redis).subscribe(this.broker.global.cancel);
  }

  private watchConnection(client: RedisClient): void {
    let everReady = false;
    client.on('ready', () => {
      if (everReady) this.processor?.requestReclaim();
      everReady = true;
      this.events.emit('status', 'connected');
    });
    client.on('reconnecting', () => this.events.emit('status', 'reconnecting'));
    client.on('end', () => this.events.emit('status', 'disconnected'));
    client.on('error', (err: Error) => {
      if (this.state === 'running') this.emitError(err);
    });
  }

  private emitError(err: Error): void {
    this.events.emit('error', err);
  }

  /** @internal For tests: run one recovery round now. */
  recoverNow(): Promise<number> {
    if (!this.recoverer) throw new ClosedError('TaskWorker (not started)');
    return this.recoverer.run(true);
  }

  /** @internal For tests: run one janitor round now. */
  cleanNow(): Promise<number> {
    if (!this.janitor) throw new ClosedError('TaskWorker (not started)');
    return this.janitor.run();
  }
}
