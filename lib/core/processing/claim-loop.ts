import type { Handoff, WakeSource, WorkerOps } from '../broker/broker.js';
import { TaskqError, toError } from '../errors.js';
import { QueueBackoff } from './queue-backoff.js';
import { strictOrder, weightedOrder, type WeightedQueue } from './queue-order.js';
import type { RunningTasks } from './running-tasks.js';
import type { TaskRunner } from './task-runner.js';

const IDLE_WAIT_MS = 30_000;
const ERROR_BACKOFF_MAX_MS = 2_000;

/** What the claim loop needs. */
export interface ClaimLoopParams {
  broker: Pick<WorkerOps, 'dequeue' | 'leases' | 'requeue'>;
  running: RunningTasks;
  runner: TaskRunner;
  wake: WakeSource;
  concurrency: number;
  queues: readonly WeightedQueue[];
  strictPriority: boolean;
  /** A `d` marker was seen: another process scheduled something earlier in `queue` (the forwarder re-reads). */
  onDueChanged: (queue: string) => void;
  onError: (err: Error) => void;
}

/**
 * The fetch loop: claims as many tasks as there are free slots (one script call per queue, in weighted or strict
 * order) and gives them to the runner. Keeps up to two claims in flight, each for at most half the slots, so the
 * round trip and script time of the next batch overlap the running tasks instead of following them. Once the queues
 * are drained it blocks on the wake source, where an enqueue can hand it a task directly.
 */
export class ClaimLoop {
  private fetching = false;
  private loopDone?: Promise<void>;
  private loopSignal?: () => void;
  private readonly fetches = new Set<Promise<void>>();
  private reserved = 0;
  private drained = false;
  private backoffMs = 0;
  private retryAt = 0;
  private reclaimRequested = false;
  private readonly backoff = new QueueBackoff();
  /** The queue order under strictPriority (fixed: computed once). */
  private readonly fixedOrder?: string[];

  constructor(private readonly p: ClaimLoopParams) {
    if (p.queues.length === 1) this.fixedOrder = [p.queues[0].name];
    else if (p.strictPriority) this.fixedOrder = strictOrder(p.queues);
  }

  /** Starts the fetch loop. */
  start(): void {
    this.fetching = true;
    this.loopDone = this.loop();
  }

  /** Stops claiming new tasks (running ones go on) and waits for the claims in flight. */
  async stop(): Promise<void> {
    this.fetching = false;
    this.notify();
    await this.loopDone;
    await Promise.all([...this.fetches]);
  }

  /** A slot freed up or the worker stops: look again. */
  notify(): void {
    const signal = this.loopSignal;
    this.loopSignal = undefined;
    signal?.();
  }

  /**
   * A task an enqueue handed to this worker (called from the wake-up reply itself): run it if a slot is free, else
   * give it back to the head of its queue. No slot can be free only when the worker was not waiting for it: on a
   * cluster another queue woke it first, or it is shutting down. True when a slot is left for the next one.
   */
  acceptHandoff(queue: string, handoff: Handoff): boolean {
    if (!this.fetching || this.freeSlots() <= 0) {
      this.p.runner.giveBack(queue, [handoff]);
      return false;
    }
    this.p.runner.takeHandoff(queue, handoff);
    return this.freeSlots() > 0;
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
    for (const { name: queue } of this.p.queues) {
      try {
        const stranded = (await this.p.broker.leases(queue)).filter(
          (lease) => this.p.running.isOwnScore(lease.leaseScore) && !this.p.running.has(queue, lease.id),
        );
        if (stranded.length > 0) await this.p.broker.requeue(queue, stranded);
      } catch (err) {
        this.p.onError(toError(err));
      }
    }
  }

  private freeSlots(): number {
    return this.p.concurrency - this.p.running.size - this.reserved;
  }

  private nextEvent(): Promise<void> {
    return new Promise<void>((resolve) => (this.loopSignal = resolve));
  }

  private async loop(): Promise<void> {
    const half = Math.max(1, Math.ceil(this.p.concurrency / 2));
    while (this.fetching) {
      if (this.reclaimRequested && this.fetches.size === 0) await this.reclaimStranded();
      if (this.drained) {
        // Blocking registers this worker for a hand-off, so it needs a free slot to run one.
        if (this.fetches.size > 0 || this.freeSlots() <= 0) {
          await this.nextEvent();
          continue;
        }
        // A resting queue is tried again when its pause ends, even if nothing wakes the worker before.
        const retryAt = this.backoff.nextRetryAt(Date.now());
        const marker = await this.p.wake.wait(
          retryAt === undefined ? IDLE_WAIT_MS : Math.min(IDLE_WAIT_MS, retryAt - Date.now()),
        );
        // A hand-off is running already (see acceptHandoff). The queues are still drained (every pending task has its
        // `p` marker): block again for the next task.
        if (marker?.kind === 'h') continue;
        if (marker?.kind === 'd') this.p.onDueChanged(marker.queue);
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
      ({ claimed, allFailed }) => {
        if (!allFailed) {
          this.backoffMs = 0;
          if (claimed < count) this.drained = true;
          return;
        }
        // Every queue tried failed: most likely Redis itself (each error was reported); pause the whole loop.
        this.backoffMs = Math.min(ERROR_BACKOFF_MAX_MS, this.backoffMs === 0 ? 50 : this.backoffMs * 2);
        this.retryAt = Date.now() + this.backoffMs;
      },
      (err: unknown) => {
        if (!this.fetching) return;
        this.p.onError(toError(err));
        this.backoffMs = Math.min(ERROR_BACKOFF_MAX_MS, this.backoffMs === 0 ? 50 : this.backoffMs * 2);
        this.retryAt = Date.now() + this.backoffMs;
      },
    );
    const tracked = done.finally(() => {
      this.reserved -= count;
      this.fetches.delete(tracked);
      this.notify();
    });
    this.fetches.add(tracked);
  }

  /**
   * Claims up to `free` tasks across the queues in weighted (or strict) order. A queue whose claim fails is reported
   * (named) and rests alone (QueueBackoff); the others are claimed from as usual. `allFailed`: every queue tried failed.
   */
  private async fetch(free: number): Promise<{ claimed: number; allFailed: boolean }> {
    let claimed = 0;
    let tried = 0;
    let failed = 0;
    for (const queue of this.fixedOrder ?? weightedOrder(this.p.queues)) {
      if (this.backoff.isResting(queue, Date.now())) continue;
      tried++;
      const leaseScore = this.p.running.leaseScore();
      let result: Awaited<ReturnType<ClaimLoopParams['broker']['dequeue']>>;
      try {
        result = await this.p.broker.dequeue(queue, free - claimed, leaseScore);
      } catch (err) {
        if (!this.fetching) break;
        failed++;
        const pauseMs = this.backoff.fail(queue, Date.now());
        this.p.onError(this.claimError(queue, err, pauseMs));
        continue;
      }
      this.backoff.succeed(queue);
      if (result.dueChanged) this.p.onDueChanged(queue);
      claimed += result.tasks.length;
      for (const t of result.tasks) this.p.runner.begin(queue, t, leaseScore);
      if (claimed >= free || !this.fetching) break;
    }
    return { claimed, allFailed: tried > 0 && failed === tried };
  }

  /** The error reported for a failed claim: a typed one as it is (it names the queue), anything else with the queue. */
  private claimError(queue: string, err: unknown, pauseMs: number): Error {
    if (err instanceof TaskqError) return err;
    const cause = toError(err);
    return new Error(`claiming tasks of queue "${queue}" failed (the queue rests ${pauseMs} ms): ${cause.message}`, {
      cause,
    });
  }
}
