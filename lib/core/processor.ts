import { EventEmitter } from 'node:events';
import { Acker } from './acker.js';
import { CorruptMessageError, decodeMessage, encodeMessage, type TaskMessage } from './broker/codec.js';
import type { Handoff } from './broker/handoff.js';
import type { ClaimedTask, LeasedItem, RedisBroker } from './broker/redis-broker.js';
import type { Clock } from './clock.js';
import { parseDuration } from './duration.js';
import {
  LeaseLostError,
  ShutdownError,
  SkipRetryError,
  TaskCanceledError,
  TaskqError,
  TaskTimeoutError,
  toError,
} from './errors.js';
import type { ResolvedWorkerOptions, PayloadCodec } from './options.js';
import type { Task, TaskHandlerFn } from './task.js';
import type { Waker } from './waker.js';

/** Worker events and their arguments. */
export interface WorkerEvents {
  active: [task: Task];
  completed: [task: Task, result: unknown];
  failed: [task: Task, error: Error, willRetry: boolean];
  archived: [task: Task, error: Error];
  error: [error: Error];
  status: [status: 'connected' | 'reconnecting' | 'disconnected'];
}

/**
 * The Task a handler receives. Its AbortController is created on first use: most handlers never look at the signal,
 * and one controller per task is a measurable share of a no-op task's cost.
 */
class LiveTask<P = unknown> implements Task<P> {
  private controller?: AbortController;

  constructor(
    readonly id: string,
    readonly type: string,
    readonly queue: string,
    readonly payload: P,
    readonly headers: Record<string, string>,
    readonly retried: number,
    readonly maxRetry: number,
    readonly deadline: Date | undefined,
  ) {}

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  /** Fires the signal (creating it if nobody asked for it yet, so a later reader sees it aborted). */
  abort(reason: Error): void {
    (this.controller ??= new AbortController()).abort(reason);
  }
}

/** A task running in this process. */
interface Run {
  readonly id: string;
  readonly queue: string;
  readonly message: TaskMessage;
  leaseScore: string;
  readonly task: LiveTask;
  timer?: NodeJS.Timeout;
  settled: boolean;
  /** The lease is gone: write nothing for this run. */
  lost: boolean;
}

const IDLE_WAIT_MS = 30_000;
/** A hand-off with less lease than this left (or a quarter of the lease, if less) is given back, not run. */
const HANDOFF_MIN_LEASE_MS = 1_000;
const ERROR_BACKOFF_MAX_MS = 2_000;
const CORRUPT_TYPE = '(corrupt)';
/** How long an awaited task without retention keeps its result (a waiter that missed the notification reads it). */
export const AWAITED_RESULT_GRACE_MS = 60_000;

/**
 * The fetch loop and the handler runs: claims as many tasks as there are free slots (one script call per queue),
 * runs them, and hands outcomes to the batching {@link Acker}. Idle, it blocks on the {@link Waker}.
 */
export class Processor {
  /** Running tasks by queue, then id. */
  readonly runs = new Map<string, Map<string, Run>>();
  private running = 0;
  private fetching = false;
  private loopDone?: Promise<void>;
  private loopSignal?: () => void;
  private drainedWaiter?: () => void;
  private readonly acker: Acker;
  private readonly leaseTag: number;
  private readonly fetches = new Set<Promise<void>>();
  /** Hand-offs being given back to their queue (see {@link acceptHandoff}). */
  private readonly givebacks = new Set<Promise<void>>();
  private reserved = 0;
  private drained = false;
  private backoffMs = 0;
  private retryAt = 0;
  private reclaimRequested = false;
  /** The queue order under strictPriority (fixed: computed once). */
  private strictOrder?: string[];

  constructor(
    private readonly broker: RedisBroker,
    private readonly options: ResolvedWorkerOptions,
    private readonly handlers: Map<string, TaskHandlerFn>,
    private readonly codec: PayloadCodec,
    private readonly clock: Clock,
    private readonly waker: Waker,
    private readonly events: EventEmitter,
    private readonly noteRetryAt: (queue: string, at: number) => void,
    private readonly onDueChanged: (queue: string) => void,
  ) {
    // A per-worker fraction in the lease score: two workers never write the same score, so a finalize write can be
    // fenced on exact equality.
    this.leaseTag = (1 + Math.floor(Math.random() * 1023)) / 1024;
    this.acker = new Acker(
      broker,
      clock,
      (queue, ids) =>
        this.emitError(
          new Error(
            `${ids.length} task(s) of queue "${queue}" were no longer held by this worker when acknowledged ` +
              `(already acknowledged by a re-sent call, or taken over after the lease expired); nothing was written`,
          ),
        ),
      (err) => this.emitError(err),
      options.leaseMs,
    );
  }

  /** A lease score expiring `leaseMs` from now, tagged with this worker. */
  leaseScore(): string {
    return String(this.clock.now() + this.options.leaseMs + this.leaseTag);
  }

  /** How many tasks run now. */
  get size(): number {
    return this.running;
  }

  /** Starts the fetch loop. */
  start(): void {
    this.fetching = true;
    this.loopDone = this.loop();
  }

  /** Stops claiming new tasks (running ones go on). */
  async stopFetching(): Promise<void> {
    this.fetching = false;
    this.notifyLoop();
    await this.loopDone;
    await Promise.all([...this.fetches]);
  }

  /** Resolves when no task runs, or after `timeoutMs`. */
  async waitForIdle(timeoutMs: number): Promise<void> {
    if (this.running === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drainedWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Aborts every running task and gives it back to the head of its queue; then flushes acknowledgements. */
  async requeueRemaining(): Promise<void> {
    const byQueue: [string, Run[]][] = [];
    for (const [queue, runs] of this.runs) {
      const list = [...runs.values()].filter((r) => !r.settled);
      if (list.length > 0) byQueue.push([queue, list]);
    }
    for (const [, list] of byQueue) for (const run of list) this.settle(run, () => run.task.abort(new ShutdownError()));
    await this.acker.drain();
    await Promise.all([...this.givebacks]);
    await Promise.all(
      byQueue.map(async ([queue, list]) => {
        try {
          await this.broker.requeue(queue, list.map((r) => ({ id: r.id, leaseScore: r.leaseScore })));
        } catch (err) {
          this.emitError(toError(err));
        }
      }),
    );
  }

  /** Flushes and waits for outstanding acknowledgements. */
  drainAcks(): Promise<void> {
    return this.acker.drain();
  }

  /** Aborts the runs whose lease was lost (reported by the heartbeat); nothing is written for them. */
  loseLeases(queue: string, ids: string[]): void {
    const runs = this.runs.get(queue);
    if (!runs) return;
    for (const id of ids) {
      const run = runs.get(id);
      if (run && !run.settled) {
        run.lost = true;
        this.settle(run, () => run.task.abort(new LeaseLostError(id)));
      }
    }
  }

  /** Cancels a running task: its signal fires and it is archived. True when it ran here. */
  cancel(queue: string, id: string): boolean {
    const run = this.runs.get(queue)?.get(id);
    if (!run || run.settled) return false;
    const reason = new TaskCanceledError(id);
    run.task.abort(reason);
    this.fail(run, reason);
    return true;
  }

  /**
   * After a reconnect: a dequeue whose reply was lost was re-sent by ioredis, so the tasks of its first execution
   * are leased to this worker but never started. Give them back to the head of their queue now rather than after the
   * lease expires. Runs between fetches, never while one is in flight (its tasks would look stranded).
   */
  requestReclaim(): void {
    this.reclaimRequested = true;
    if (this.fetches.size === 0) void this.reclaimStranded();
  }

  private async reclaimStranded(): Promise<void> {
    if (!this.reclaimRequested) return;
    this.reclaimRequested = false;
    for (const { name: queue } of this.options.queues) {
      try {
        const running = this.runs.get(queue);
        const stranded = (await this.broker.leases(queue)).filter((lease) => {
          const score = Number(lease.leaseScore);
          return score - Math.floor(score) === this.leaseTag && !running?.has(lease.id);
        });
        if (stranded.length > 0) await this.broker.requeue(queue, stranded);
      } catch (err) {
        this.emitError(toError(err));
      }
    }
  }

  /**
   * A task an enqueue handed to this worker (called from the wake-up reply itself): run it if a slot is free, else
   * give it back to the head of its queue. No slot can be free only when the worker was not waiting for it: on a
   * cluster another queue woke it first, or it is shutting down. True when a slot is left for the next one.
   */
  acceptHandoff(queue: string, handoff: Handoff): boolean {
    if (!this.fetching || this.freeSlots() <= 0) {
      this.giveBack(queue, [handoff]);
      return false;
    }
    this.takeHandoff(queue, handoff);
    return this.freeSlots() > 0;
  }

  /**
   * Starts a handed-off task at once. One that waited in the wake set until its lease is nearly over is given back
   * instead (the recoverer may be about to take it); one with less than half a lease left gets this worker's own lease
   * now rather than at the next heartbeat.
   */
  private takeHandoff(queue: string, handoff: Handoff): void {
    const left = Number(handoff.leaseScore) - this.clock.now();
    if (left <= Math.min(HANDOFF_MIN_LEASE_MS, this.options.leaseMs / 4)) {
      this.giveBack(queue, [handoff]);
      return;
    }
    const run = this.begin(queue, { id: handoff.id, message: handoff.message }, handoff.leaseScore);
    if (run && !run.settled && left < this.options.leaseMs / 2) this.adopt(run);
  }

  /** Moves a run's lease to this worker's own score now (the heartbeat would do it within a third of a lease). */
  private adopt(run: Run): void {
    const held = { id: run.id, leaseScore: run.leaseScore };
    run.leaseScore = this.leaseScore();
    this.broker.extendLeases(run.queue, [held], run.leaseScore).then(
      (lost) => {
        if (lost.length > 0) this.loseLeases(run.queue, lost);
      },
      (err: unknown) => this.emitError(toError(err)),
    );
  }

  /** Gives leased tasks that never started back to the head of their queue (fenced on their lease). */
  private giveBack(queue: string, items: LeasedItem[]): void {
    const done = this.broker.requeue(queue, items).then(
      () => undefined,
      (err: unknown) => this.emitError(toError(err)),
    );
    this.givebacks.add(done);
    void done.finally(() => this.givebacks.delete(done));
  }

  private freeSlots(): number {
    return this.options.concurrency - this.running - this.reserved;
  }

  private notifyLoop(): void {
    const signal = this.loopSignal;
    this.loopSignal = undefined;
    signal?.();
  }

  private nextEvent(): Promise<void> {
    return new Promise<void>((resolve) => (this.loopSignal = resolve));
  }

  /**
   * Keeps up to two claims in flight, each for at most half the slots, so the round trip and script time of the next
   * batch overlap the running tasks instead of following them. Blocks on the waker once the queues are drained.
   */
  private async loop(): Promise<void> {
    const half = Math.max(1, Math.ceil(this.options.concurrency / 2));
    while (this.fetching) {
      if (this.reclaimRequested && this.fetches.size === 0) await this.reclaimStranded();
      if (this.drained) {
        // Blocking registers this worker for a hand-off, so it needs a free slot to run one.
        if (this.fetches.size > 0 || this.freeSlots() <= 0) {
          await this.nextEvent();
          continue;
        }
        const marker = await this.waker.wait(IDLE_WAIT_MS);
        // A hand-off is running already (see acceptHandoff). The queues are still drained (every pending task has its
        // `p` marker): block again for the next task.
        if (marker?.kind === 'h') continue;
        if (marker?.kind === 'd') this.onDueChanged(marker.queue);
        this.drained = false;
        continue;
      }
      const wait = this.retryAt - Date.now();
      if (wait > 0) {
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      const free = this.freeSlots();
      const canFetch = this.fetches.size === 0 ? free > 0 : this.fetches.size === 1 && free >= half;
      if (!canFetch) {
        await this.nextEvent();
        // Let the completions of this turn free more slots, so one claim takes them together.
        await new Promise((r) => setImmediate(r));
        continue;
      }
      this.launchFetch(Math.min(free, half));
    }
    await Promise.all([...this.fetches]);
  }

  private launchFetch(count: number): void {
    this.reserved += count;
    const done = this.fetch(count).then(
      (claimed) => {
        this.backoffMs = 0;
        if (claimed < count) this.drained = true;
      },
      (err: unknown) => {
        if (!this.fetching) return;
        this.emitError(toError(err));
        this.backoffMs = Math.min(ERROR_BACKOFF_MAX_MS, this.backoffMs === 0 ? 50 : this.backoffMs * 2);
        this.retryAt = Date.now() + this.backoffMs;
      },
    );
    const tracked = done.finally(() => {
      this.reserved -= count;
      this.fetches.delete(tracked);
      this.notifyLoop();
    });
    this.fetches.add(tracked);
  }

  /** Claims up to `free` tasks across the queues in weighted (or strict) order; returns how many. */
  private async fetch(free: number): Promise<number> {
    let claimed = 0;
    for (const queue of this.queueOrder()) {
      const leaseScore = this.leaseScore();
      const { tasks, dueChanged } = await this.broker.dequeue(queue, free - claimed, leaseScore);
      if (dueChanged) this.onDueChanged(queue);
      claimed += tasks.length;
      for (const t of tasks) this.begin(queue, t, leaseScore);
      if (claimed >= free || !this.fetching) break;
    }
    return claimed;
  }

  private queueOrder(): string[] {
    const queues = this.options.queues;
    if (queues.length === 1) return [queues[0].name];
    if (this.options.strictPriority) {
      this.strictOrder ??= [...queues].sort((a, b) => b.weight - a.weight).map((q) => q.name);
      return this.strictOrder;
    }
    // Weighted random order without replacement: the first queue is chosen with probability weight / total.
    const rest = [...queues];
    const order: string[] = [];
    while (rest.length > 0) {
      let total = 0;
      for (const q of rest) total += q.weight;
      let pick = Math.random() * total;
      let index = 0;
      while (pick >= rest[index].weight) {
        pick -= rest[index].weight;
        index++;
      }
      order.push(rest[index].name);
      rest.splice(index, 1);
    }
    return order;
  }

  /** Starts a claimed task; returns its run, or undefined when there was nothing to run. */
  private begin(queue: string, claimed: ClaimedTask, leaseScore: string): Run | undefined {
    if (claimed.message === '-') return undefined;
    if (claimed.message === '') {
      this.emitError(new Error(`dropped id "${claimed.id}" of queue "${queue}": it has no task record`));
      return undefined;
    }
    let message: TaskMessage;
    try {
      message = decodeMessage(claimed.message);
    } catch (err) {
      const error = err instanceof CorruptMessageError ? err : new CorruptMessageError(String(err));
      this.archiveCorrupt(queue, claimed, leaseScore, error);
      return undefined;
    }
    let payload: unknown;
    try {
      payload = this.codec.decode(message.payload);
    } catch (err) {
      this.archiveCorrupt(queue, claimed, leaseScore, new CorruptMessageError(`payload cannot be decoded (${toError(err).message})`));
      return undefined;
    }
    const task = new LiveTask(
      claimed.id,
      message.type,
      queue,
      payload,
      message.headers,
      message.retried,
      message.maxRetry,
      message.deadlineMs === undefined ? undefined : new Date(message.deadlineMs),
    );
    const run: Run = { id: claimed.id, queue, message, leaseScore, task, settled: false, lost: false };
    let runs = this.runs.get(queue);
    if (!runs) {
      runs = new Map();
      this.runs.set(queue, runs);
    }
    runs.set(run.id, run);
    this.running++;
    this.execute(run);
    return run;
  }

  private execute(run: Run): void {
    const now = this.clock.now();
    const { message } = run;
    let limit = message.timeoutMs;
    let reasonOnLimit = (): Error => new TaskTimeoutError(`task "${run.id}" timed out after ${message.timeoutMs} ms`);
    if (message.deadlineMs !== undefined && message.deadlineMs - now < limit) {
      limit = message.deadlineMs - now;
      reasonOnLimit = () => new TaskqError('DEADLINE_EXCEEDED', `task "${run.id}" passed its deadline ${new Date(message.deadlineMs ?? 0).toISOString()}`);
    }
    if (limit <= 0) {
      const reason = reasonOnLimit();
      run.task.abort(reason);
      this.fail(run, reason);
      return;
    }
    run.timer = setTimeout(() => {
      const reason = reasonOnLimit();
      run.task.abort(reason);
      this.fail(run, reason);
    }, limit);
    const handler = this.handlers.get(message.type);
    if (!handler) {
      this.fail(run, new TaskqError('NO_HANDLER', `no handler for task type "${message.type}"`));
      return;
    }
    this.events.emit('active', run.task);
    let result: unknown;
    try {
      result = handler(run.task);
    } catch (err) {
      this.fail(run, toError(err));
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(
        (value) => this.succeed(run, value),
        (err: unknown) => this.fail(run, toError(err)),
      );
    } else {
      this.succeed(run, result);
    }
  }

  /** Marks a run finished exactly once and frees its slot; `andThen` runs only for the first settle. */
  private settle(run: Run, andThen: () => void): boolean {
    if (run.settled) return false;
    run.settled = true;
    if (run.timer) clearTimeout(run.timer);
    this.runs.get(run.queue)?.delete(run.id);
    this.running--;
    andThen();
    this.notifyLoop();
    if (this.running === 0) this.drainedWaiter?.();
    return true;
  }

  private succeed(run: Run, result: unknown): void {
    this.settle(run, () => {
      if (run.lost) return;
      const { message } = run;
      let resultJson = '';
      if (result !== undefined) {
        try {
          resultJson = JSON.stringify(result) ?? '';
        } catch (err) {
          this.emitError(new Error(`the result of task "${run.id}" is not JSON-serializable and was dropped: ${toError(err).message}`));
        }
      }
      let stored = '';
      let retainUntilMs = 0;
      const keepFor = message.retentionMs > 0 ? message.retentionMs : message.awaited ? AWAITED_RESULT_GRACE_MS : 0;
      if (keepFor > 0) {
        const now = this.clock.now();
        retainUntilMs = now + keepFor;
        stored = encodeMessage({ ...message, completedAt: now, result: resultJson === '' ? undefined : JSON.parse(resultJson) });
      }
      this.acker.complete(run.queue, run, {
        id: run.id,
        retainUntilMs,
        message: stored,
        uniqueKey: message.uniqueDigest ? this.broker.keys(run.queue).unique(message.type, message.uniqueDigest) : undefined,
        resultJson,
      });
      this.events.emit('completed', run.task, result);
    });
  }

  private fail(run: Run, error: Error): void {
    this.settle(run, () => {
      if (run.lost) return;
      const { message, task } = run;
      const now = this.clock.now();
      const lastError = error.message || error.name || 'failed';
      const failed: TaskMessage = { ...message, lastError, lastFailedAt: now };
      const skip =
        error instanceof SkipRetryError || error instanceof TaskCanceledError || (error instanceof TaskqError && error.code === 'SKIP_RETRY');
      let countsAsFailure = true;
      if (!skip) {
        try {
          countsAsFailure = this.options.isFailure(error);
        } catch (err) {
          this.emitError(toError(err));
        }
      }
      const retried = countsAsFailure ? message.retried + 1 : message.retried;
      let retryAt = 0;
      let archive = skip || (countsAsFailure && message.retried >= message.maxRetry);
      if (!archive) {
        try {
          retryAt = now + parseDuration(this.options.retryDelay(message.retried, error, task), 'retryDelay');
        } catch (err) {
          this.emitError(toError(err));
          retryAt = now + 1000;
        }
        // A retry that could only start after the deadline cannot succeed.
        if (message.deadlineMs !== undefined && retryAt >= message.deadlineMs) archive = true;
      }
      if (archive) {
        this.acker.archive(run.queue, run, { id: run.id, message: encodeMessage(failed), lastError });
        this.events.emit('archived', task, error);
      } else {
        this.acker.retry(run.queue, run, {
          id: run.id,
          message: encodeMessage({ ...failed, retried, readyAt: retryAt }),
          retryAtMs: retryAt,
          countsAsFailure,
        });
        this.noteRetryAt(run.queue, retryAt);
      }
      if (this.events.listenerCount('failed') > 0) this.events.emit('failed', task, error, !archive);
    });
  }

  private archiveCorrupt(queue: string, claimed: ClaimedTask, leaseScore: string, error: CorruptMessageError): void {
    const now = this.clock.now();
    const message = encodeMessage({
      type: CORRUPT_TYPE,
      payload: claimed.message,
      readyAt: now,
      maxRetry: 0,
      retried: 0,
      timeoutMs: 0,
      retentionMs: 0,
      headers: {},
      lastError: error.message,
      lastFailedAt: now,
    });
    this.acker.archive(queue, { id: claimed.id, leaseScore }, { id: claimed.id, message, lastError: error.message });
    this.emitError(new Error(`archived task "${claimed.id}" of queue "${queue}": ${error.message}`));
  }

  private emitError(err: Error): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', err);
  }
}
