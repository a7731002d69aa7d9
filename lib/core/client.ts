import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { encodeMessage, type TaskMessage } from './broker/codec.js';
import { RedisBroker, type EnqueueCode, type EnqueueItem } from './broker/redis-broker.js';
import { systemClock, type Clock } from './clock.js';
import { closeClient, connect, duplicate, type RedisClient } from './connection.js';
import { parseOptionalDuration, type Duration } from './duration.js';
import {
  ClosedError,
  DuplicateTaskError,
  InvalidOptionError,
  TaskFailedError,
  TaskIdConflictError,
  TaskNotFoundError,
  TaskTimeoutError,
} from './errors.js';
import { newTaskId } from './ids.js';
import {
  DEFAULT_PREFIX,
  DEFAULT_QUEUE,
  resolveEnqueueOptions,
  validatePrefix,
  validateQueueName,
  validateTaskType,
  type EnqueueOptions,
  type PayloadCodec,
  type TaskqOptions,
} from './options.js';
import type { TaskInfo } from './task.js';
import { JSON_CODEC, toTaskInfo } from './task-info.js';

/** Options for waiting on a task's result. */
export interface WaitOptions {
  /** The task's queue. @defaultValue `'default'` */
  queue?: string;
  /** Give up after this long with TaskTimeoutError. @defaultValue wait forever */
  timeout?: Duration;
  /** Stop waiting when aborted (rejects with the signal's reason). @defaultValue none */
  signal?: AbortSignal;
}

interface PreparedTask {
  item: EnqueueItem;
  info: TaskInfo;
}

interface PendingEnqueue {
  task: PreparedTask;
  resolve: (info: TaskInfo) => void;
  reject: (err: unknown) => void;
}

interface Waiter {
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Enqueues tasks and reads them back. Concurrent `enqueue` calls made in the same event-loop turn are sent as one
 * script call per queue (one round trip), so 100 calls in flight cost a handful of round trips.
 */
export class TaskClient {
  /** The command connection (yours if you passed an instance in). */
  readonly redis: RedisClient;
  private readonly owned: boolean;
  private readonly broker: RedisBroker;
  private readonly codec: PayloadCodec;
  private readonly clock: Clock;
  private readonly knownQueues = new Set<string>();
  private batch = new Map<string, PendingEnqueue[]>();
  private flushScheduled = false;
  private subscriber?: RedisClient;
  private subscribedChannels = new Map<string, Promise<unknown>>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closed = false;

  constructor(options: TaskqOptions & { clock?: Clock } = {}) {
    const prefix = validatePrefix(options.prefix ?? DEFAULT_PREFIX);
    const { client, owned } = connect(options.connection, 'taskq:client');
    this.redis = client;
    this.owned = owned;
    this.broker = new RedisBroker(client, prefix);
    this.codec = options.codec ?? JSON_CODEC;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Enqueues one task.
   * @throws InvalidOptionError for an invalid type, option or unencodable payload (nothing is written).
   * @throws DuplicateTaskError when `unique` and the lock is held; TaskIdConflictError when `taskId` exists.
   */
  async enqueue<P>(type: string, payload: P, options?: EnqueueOptions): Promise<TaskInfo<P>> {
    this.assertOpen();
    const task = this.prepare(type, payload, options, false);
    return (await this.submit(task)) as TaskInfo<P>;
  }

  /**
   * Enqueues many tasks in one round trip (one script call per queue and per 1000 tasks, pipelined). Every task is
   * validated before anything is written. A task that hits a unique lock or an id conflict rejects the whole call
   * with that error after the others were written; use `enqueue` for per-task outcomes.
   */
  async enqueueMany(tasks: { type: string; payload: unknown; options?: EnqueueOptions }[]): Promise<TaskInfo[]> {
    this.assertOpen();
    if (!Array.isArray(tasks)) throw new InvalidOptionError('tasks', 'expected an array of { type, payload, options? }');
    const prepared = tasks.map((t, i) => {
      if (typeof t !== 'object' || t === null) throw new InvalidOptionError(`tasks[${i}]`, 'expected { type, payload, options? }');
      return this.prepare(t.type, t.payload, t.options, false);
    });
    const byQueue = new Map<string, PreparedTask[]>();
    for (const p of prepared) {
      const list = byQueue.get(p.info.queue);
      if (list) list.push(p);
      else byQueue.set(p.info.queue, [p]);
    }
    await this.registerQueues([...byQueue.keys()]);
    const outcomes = await Promise.all(
      [...byQueue].map(async ([queue, list]) => ({ list, codes: await this.broker.enqueue(queue, list.map((p) => p.item), this.clock.now()) })),
    );
    for (const { list, codes } of outcomes) {
      codes.forEach((code, i) => {
        const error = this.codeError(code, list[i].info);
        if (error) throw error;
      });
    }
    return prepared.map((p) => p.info);
  }

  /**
   * Enqueues a task and waits for its result, registering the wait atomically with the enqueue (so even a task
   * finished within microseconds is not missed). Rejects with TaskFailedError once the task is archived.
   */
  async enqueueAndWait<R>(
    type: string,
    payload: unknown,
    options?: EnqueueOptions,
    wait: Omit<WaitOptions, 'queue'> = {},
  ): Promise<{ info: TaskInfo; result: Promise<R> }> {
    this.assertOpen();
    const task = this.prepare(type, payload, options, true);
    const queue = task.info.queue;
    await this.subscribeDone(queue);
    const result = this.awaitDone<R>(queue, task.info.id, wait, false);
    result.catch(() => undefined);
    try {
      await this.submit(task);
    } catch (err) {
      this.dropWaiters(queue, task.info.id, err);
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
    await this.subscribeDone(queue);
    const result = this.awaitDone<R>(queue, id, options, true);
    // Handled by the caller once returned; until then, don't let an early rejection count as unhandled.
    result.catch(() => undefined);
    if (options.signal?.aborted) return result;
    await this.broker.addWaiter(queue, id);
    // The task may have finished before the waiter was registered: read its state once.
    const stored = await this.broker.task(queue, id);
    if (!stored) this.dropWaiters(queue, id, new TaskNotFoundError(id, queue));
    else if (stored.state === 'completed' || stored.state === 'archived') {
      const info = toTaskInfo(queue, id, stored, this.codec);
      if (stored.state === 'completed') this.settle(queue, id, 'completed', info.result);
      else this.settle(queue, id, 'archived', info.lastError ?? 'archived');
    }
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
    const uniqueKey = this.broker.uniqueKeyOf(found.queue, found.stored.message);
    const outcome = await this.broker.cancel(found.queue, id, uniqueKey);
    if (outcome === 'active') await this.broker.publishCancel(found.queue, id);
    return outcome !== 'none';
  }

  /** Closes the connections the client created (never one you passed in). Pending waits reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [key, set] of this.waiters) {
      for (const w of set) w.reject(new ClosedError('TaskClient'));
      this.waiters.delete(key);
    }
    if (this.subscriber) await closeClient(this.subscriber);
    if (this.owned) await closeClient(this.redis);
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('TaskClient');
  }

  private prepare(type: string, payload: unknown, options: EnqueueOptions | undefined, awaited: boolean): PreparedTask {
    validateTaskType(type);
    const now = this.clock.now();
    const o = resolveEnqueueOptions(options, now);
    let encodedPayload: unknown;
    let message: string;
    const m: TaskMessage = {
      type,
      payload: undefined,
      readyAt: o.processAtMs ?? now,
      maxRetry: o.maxRetry,
      retried: 0,
      timeoutMs: o.timeoutMs,
      deadlineMs: o.deadlineMs,
      retentionMs: o.retentionMs,
      headers: o.headers,
      awaited: awaited || undefined,
    };
    let uniqueKey: string | undefined;
    try {
      encodedPayload = this.codec.encode(payload);
      m.payload = encodedPayload;
      if (o.uniqueMs !== undefined) {
        m.uniqueDigest = createHash('sha1').update(type).update('\0').update(JSON.stringify(encodedPayload) ?? '').digest('hex');
        uniqueKey = this.broker.keys(o.queue).unique(type, m.uniqueDigest);
      }
      message = encodeMessage(m);
    } catch (err) {
      throw new InvalidOptionError(
        'payload',
        `it cannot be encoded (${(err as Error).message}); payloads must be JSON-serializable (no BigInt, no cycles)`,
        { cause: err },
      );
    }
    const id = o.taskId ?? newTaskId();
    const info: TaskInfo = {
      id,
      queue: o.queue,
      type,
      payload,
      state: o.processAtMs !== undefined ? 'scheduled' : 'pending',
      maxRetry: o.maxRetry,
      retried: 0,
      timeout: o.timeoutMs,
      headers: o.headers,
    };
    if (o.deadlineMs !== undefined) info.deadline = new Date(o.deadlineMs);
    if (o.processAtMs !== undefined) info.nextProcessAt = new Date(o.processAtMs);
    const item: EnqueueItem = { id, message, processAtMs: o.processAtMs, checkId: o.taskId !== undefined, awaited };
    if (uniqueKey !== undefined && o.uniqueMs !== undefined) {
      item.uniqueKey = uniqueKey;
      // A scheduled task holds its lock until it is due, plus the unique window (as Asynq does).
      item.uniqueTtlMs = o.uniqueMs + (o.processAtMs !== undefined ? o.processAtMs - now : 0);
    }
    return { item, info };
  }

  private submit(task: PreparedTask): Promise<TaskInfo> {
    return new Promise<TaskInfo>((resolve, reject) => {
      const queue = task.info.queue;
      const list = this.batch.get(queue);
      if (list) list.push({ task, resolve, reject });
      else this.batch.set(queue, [{ task, resolve, reject }]);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // A microtask, not a macrotask: calls made in this turn (and in promise continuations of this turn) still
        // share one script call, and a lone enqueue is sent without waiting for the next loop iteration.
        queueMicrotask(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = new Map();
    for (const [queue, list] of batch) void this.flushQueue(queue, list);
  }

  private async flushQueue(queue: string, list: PendingEnqueue[]): Promise<void> {
    try {
      if (!this.knownQueues.has(queue)) await this.registerQueues([queue]);
      const codes = await this.broker.enqueue(queue, list.map((p) => p.task.item), this.clock.now());
      codes.forEach((code, i) => {
        const error = this.codeError(code, list[i].task.info);
        if (error) list[i].reject(error);
        else list[i].resolve(list[i].task.info);
      });
    } catch (err) {
      for (const p of list) p.reject(err);
    }
  }

  private codeError(code: EnqueueCode, info: TaskInfo): Error | undefined {
    if (code === 'conflict') return new TaskIdConflictError(info.id, info.queue);
    if (code === 'duplicate') return new DuplicateTaskError(info.queue, info.type);
    return undefined;
  }

  private async registerQueues(queues: string[]): Promise<void> {
    const fresh = queues.filter((q) => !this.knownQueues.has(q));
    if (fresh.length === 0) return;
    await this.broker.registerQueues(fresh);
    for (const q of fresh) this.knownQueues.add(q);
  }

  private locate(id: string, queue?: string) {
    if (queue !== undefined) validateQueueName(queue);
    return this.broker.locate(id, queue);
  }

  private getSubscriber(): RedisClient {
    if (!this.subscriber) {
      const sub = duplicate(this.redis, 'taskq:client:sub');
      sub.on('error', () => undefined);
      sub.on('message', (_channel: string, message: string) => this.onDone(message));
      let first = true;
      sub.on('ready', () => {
        // Messages published while disconnected are lost: re-read every awaited task once reconnected. The PING
        // answers only after ioredis's re-subscription, so nothing published after the re-read is missed.
        if (!first) {
          void (sub as Redis)
            .ping()
            .catch(() => undefined)
            .then(() => this.recheckWaiters());
        }
        first = false;
      });
      this.subscriber = sub;
    }
    return this.subscriber;
  }

  private subscribeDone(queue: string): Promise<unknown> {
    const channel = this.broker.keys(queue).done;
    let subscribed = this.subscribedChannels.get(channel);
    if (!subscribed) {
      subscribed = (this.getSubscriber() as Redis).subscribe(channel);
      this.subscribedChannels.set(channel, subscribed);
      subscribed.catch(() => this.subscribedChannels.delete(channel));
    }
    return subscribed;
  }

  private awaitDone<R>(queue: string, id: string, options: Omit<WaitOptions, 'queue'>, registered: boolean): Promise<R> {
    const timeoutMs = parseOptionalDuration(options.timeout, 'timeout');
    const key = `${queue}\0${id}`;
    return new Promise<R>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        const set = this.waiters.get(key);
        set?.delete(waiter);
        if (set && set.size === 0) this.waiters.delete(key);
      };
      const giveUp = (err: unknown): void => {
        cleanup();
        if (registered || !this.closed) void this.broker.removeWaiter(queue, id).catch(() => undefined);
        reject(err);
      };
      const waiter: Waiter = {
        resolve: (r) => {
          cleanup();
          resolve(r as R);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const onAbort = (): void => giveUp(options.signal?.reason ?? new Error('aborted'));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => giveUp(new TaskTimeoutError(`no result for task "${id}" within ${timeoutMs} ms`)), timeoutMs);
      }
      const set = this.waiters.get(key);
      if (set) set.add(waiter);
      else this.waiters.set(key, new Set([waiter]));
    });
  }

  private onDone(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(parsed) || parsed.length < 3) return;
    const [id, state, data] = parsed as [string, string, unknown];
    for (const key of this.waiters.keys()) {
      if (key.endsWith(`\0${id}`)) this.settle(key.slice(0, key.length - id.length - 1), id, state, data);
    }
  }

  private settle(queue: string, id: string, state: string, data: unknown): void {
    const set = this.waiters.get(`${queue}\0${id}`);
    if (!set) return;
    for (const w of [...set]) {
      if (state === 'completed') w.resolve(data);
      else w.reject(new TaskFailedError(id, typeof data === 'string' ? data : 'archived'));
    }
  }

  private dropWaiters(queue: string, id: string, err: unknown): void {
    const set = this.waiters.get(`${queue}\0${id}`);
    if (set) for (const w of [...set]) w.reject(err);
  }

  private async recheckWaiters(): Promise<void> {
    for (const key of [...this.waiters.keys()]) {
      const [queue, id] = key.split('\0');
      try {
        const stored = await this.broker.task(queue, id);
        if (!stored) {
          // Awaited tasks keep their result for a grace period, so a missing task is really gone.
          this.dropWaiters(queue, id, new TaskNotFoundError(id, queue));
          continue;
        }
        const info = toTaskInfo(queue, id, stored, this.codec);
        if (stored.state === 'completed') this.settle(queue, id, 'completed', info.result);
        else if (stored.state === 'archived') this.settle(queue, id, 'archived', info.lastError ?? 'archived');
      } catch {
        // still disconnected; the next 'ready' re-checks
      }
    }
  }
}
