import type { WorkerOps } from '../broker/broker.js';
import type { Clock } from '../clock.js';
import { toError } from '../errors.js';
import { startTimer, type Timer } from '../timers.js';

/** What the forwarder needs. */
export interface ForwarderParams {
  broker: Pick<WorkerOps, 'forward'>;
  queues: string[];
  clock: Clock;
  onError: (err: Error) => void;
}

const MAX_SLEEP_MS = 30_000;

/**
 * Moves scheduled and retry tasks to pending at their due time. It keeps one timer per queue for the earliest due
 * time it knows of (learned from each forward call, from this worker's own retries, and from `d` wake markers), so
 * delayed tasks start within milliseconds of their time instead of on a polling tick.
 */
export class Forwarder {
  private readonly timers = new Map<string, { at: number; timer: Timer }>();
  private readonly running = new Set<string>();
  private readonly rerun = new Set<string>();
  private stopped = true;

  constructor(private readonly p: ForwarderParams) {}

  /** Forwards every queue once and arms the timers. */
  async start(): Promise<void> {
    this.stopped = false;
    await Promise.all(this.p.queues.map((q) => this.forward(q)));
  }

  /** A task of `queue` is due at `at`: make sure the timer fires by then. */
  noteDue(queue: string, at: number): void {
    if (this.stopped) return;
    const current = this.timers.get(queue);
    if (current && current.at <= at) return;
    this.arm(queue, at);
  }

  /** Re-reads the queue's due times now (a `d` marker: another process scheduled something earlier). */
  refresh(queue: string): void {
    if (!this.stopped) void this.forward(queue);
  }

  private arm(queue: string, at: number): void {
    const current = this.timers.get(queue);
    current?.timer.clear();
    const delay = Math.max(0, Math.min(at - this.p.clock.now(), MAX_SLEEP_MS));
    const timer = startTimer(
      this.p.clock,
      delay,
      () => {
        this.timers.delete(queue);
        void this.forward(queue);
      },
      { unref: true },
    );
    this.timers.set(queue, { at: Math.min(at, this.p.clock.now() + MAX_SLEEP_MS), timer });
  }

  private async forward(queue: string): Promise<void> {
    if (this.stopped) return;
    if (this.running.has(queue)) {
      this.rerun.add(queue);
      return;
    }
    this.running.add(queue);
    try {
      const { moved, nextDue } = await this.p.broker.forward(queue, this.p.clock.now());
      if (moved >= 1000) this.rerun.add(queue);
      // No known due time: look again after MAX_SLEEP_MS in case a marker was missed.
      this.arm(queue, nextDue ?? this.p.clock.now() + MAX_SLEEP_MS);
    } catch (err) {
      if (!this.stopped) {
        this.p.onError(toError(err));
        this.arm(queue, this.p.clock.now() + 1000);
      }
    } finally {
      this.running.delete(queue);
      if (this.rerun.delete(queue)) void this.forward(queue);
    }
  }

  /** Stops every timer. */
  shutdown(): void {
    this.stopped = true;
    for (const { timer } of this.timers.values()) timer.clear();
    this.timers.clear();
  }
}
