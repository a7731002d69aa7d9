/** The first pause after a queue's claim failed; it doubles with each failure in a row. */
export const QUEUE_BACKOFF_MIN_MS = 50;
/** The longest pause of a failing queue (a corrupt key needs a human; a transient error clears sooner). */
export const QUEUE_BACKOFF_MAX_MS = 30_000;

/**
 * Per-queue back-off of the claim loop: a queue whose claims fail (a corrupt key, a script error) rests alone, with
 * exponentially growing pauses, while the worker's other queues go on at full speed.
 */
export class QueueBackoff {
  private readonly resting = new Map<string, { until: number; pauseMs: number }>();

  /** Records a failed claim of `queue` at `now`; returns how long it rests. */
  fail(queue: string, now: number): number {
    const previous = this.resting.get(queue)?.pauseMs ?? 0;
    const pauseMs = previous === 0 ? QUEUE_BACKOFF_MIN_MS : Math.min(QUEUE_BACKOFF_MAX_MS, previous * 2);
    this.resting.set(queue, { until: now + pauseMs, pauseMs });
    return pauseMs;
  }

  /** A claim of `queue` succeeded: it is healthy again. */
  succeed(queue: string): void {
    if (this.resting.size > 0) this.resting.delete(queue);
  }

  /** True while `queue` rests at `now`. */
  isResting(queue: string, now: number): boolean {
    const entry = this.resting.get(queue);
    return entry !== undefined && entry.until > now;
  }

  /** When the first resting queue may be tried again (undefined: none rests). */
  nextRetryAt(now: number): number | undefined {
    let next: number | undefined;
    for (const { until } of this.resting.values())
      if (until > now && (next === undefined || until < next)) next = until;
    return next;
  }
}
