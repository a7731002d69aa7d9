import type { LeasedItem } from '../broker/broker.js';
import type { TaskMessage } from '../broker/codec.js';
import { systemClock, type Clock } from '../clock.js';
import { startTimer, type Timer } from '../timers.js';
import type { LiveTask } from './live-task.js';

/** A task running in this process. Its lease score moves with every heartbeat, until its outcome is written. */
export interface Run {
  readonly id: string;
  readonly queue: string;
  /** Replaced when a handler chain checkpoints. */
  message: TaskMessage;
  leaseScore: string;
  readonly task: LiveTask;
  timer?: Timer;
  settled: boolean;
  /** The lease is gone: write nothing for this run. */
  lost: boolean;
}

/**
 * The one owner of this worker's running tasks and their lease scores, shared by the task runner (adds and settles
 * runs), the heartbeat (moves their scores), the acker (reads a score when it sends an outcome) and the claim loop
 * (counts free slots, tells its own stranded leases from others').
 */
export class RunningTasks {
  /** Running tasks by queue, then id. */
  private readonly byQueue = new Map<string, Map<string, Run>>();
  private count = 0;
  private idleWaiter?: () => void;
  /**
   * A per-worker fraction in every lease score: two workers never write the same score, so a finalize write can be
   * fenced on exact equality, and a whole score is a hand-off's lease (handoff.ts).
   */
  readonly leaseTag = (1 + Math.floor(Math.random() * 1023)) / 1024;

  constructor(
    private readonly clock: Clock,
    private readonly leaseMs: number,
  ) {}

  /** How many tasks run now. */
  get size(): number {
    return this.count;
  }

  /** A lease score expiring a lease duration from now, tagged with this worker. */
  leaseScore(): string {
    return String(this.clock.now() + this.leaseMs + this.leaseTag);
  }

  /** True when `score` was written by this worker (its tag fraction). */
  isOwnScore(score: string): boolean {
    const n = Number(score);
    return n - Math.floor(n) === this.leaseTag;
  }

  add(run: Run): void {
    let runs = this.byQueue.get(run.queue);
    if (!runs) {
      runs = new Map();
      this.byQueue.set(run.queue, runs);
    }
    runs.set(run.id, run);
    this.count++;
  }

  /** Removes a settled run; wakes {@link whenIdle} once none is left. */
  remove(run: Run): void {
    this.byQueue.get(run.queue)?.delete(run.id);
    this.count--;
    if (this.count === 0) this.idleWaiter?.();
  }

  get(queue: string, id: string): Run | undefined {
    return this.byQueue.get(queue)?.get(id);
  }

  has(queue: string, id: string): boolean {
    return this.byQueue.get(queue)?.has(id) ?? false;
  }

  /** The runs of every queue that has any. */
  *queues(): IterableIterator<[queue: string, runs: Run[]]> {
    for (const [queue, runs] of this.byQueue) if (runs.size > 0) yield [queue, [...runs.values()]];
  }

  /**
   * Gives runs a new lease score and returns what they held (for the extension call). The new score is
   * given before the call is sent, so an outcome sent after it carries it (both travel on one connection, in order).
   */
  renewLeases(runs: readonly Run[], newScore: string): LeasedItem[] {
    return runs.map((run) => {
      const held = { id: run.id, leaseScore: run.leaseScore };
      run.leaseScore = newScore;
      return held;
    });
  }

  /** Resolves when no task runs, or after `timeoutMs`. */
  async whenIdle(timeoutMs: number): Promise<void> {
    if (this.count === 0) return;
    await new Promise<void>((resolve) => {
      const timer = startTimer(systemClock, timeoutMs, resolve);
      this.idleWaiter = () => {
        timer.clear();
        resolve();
      };
    });
  }
}
