import type { RedisBroker } from './broker/redis-broker.js';
import type { Clock } from './clock.js';
import { toError } from './errors.js';
import type { Processor } from './processor.js';

/**
 * Extends the leases of running tasks every third of the lease duration. Leases reported lost (another worker took
 * the task over) abort their runs; if no extension succeeded for a whole lease duration (Redis unreachable), the
 * leases are presumed lost too.
 */
export class Heartbeat {
  private timer?: NodeJS.Timeout;
  private lastSuccess: number;

  constructor(
    private readonly broker: RedisBroker,
    private readonly processor: Processor,
    private readonly clock: Clock,
    private readonly leaseMs: number,
    private readonly onError: (err: Error) => void,
  ) {
    this.lastSuccess = clock.now();
  }

  start(): void {
    this.lastSuccess = this.clock.now();
    this.timer = setInterval(() => this.beat(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /** One extension round; the new score is given to each run before the call is sent (see Acker). */
  beat(): void {
    const now = this.clock.now();
    if (now - this.lastSuccess > this.leaseMs) {
      for (const [queue, runs] of this.processor.runs) this.processor.loseLeases(queue, [...runs.keys()]);
    }
    let pending = 0;
    let failed = false;
    for (const [queue, runs] of this.processor.runs) {
      if (runs.size === 0) continue;
      const newScore = this.processor.leaseScore();
      const items = [...runs.values()].map((run) => {
        const item = { id: run.id, leaseScore: run.leaseScore };
        run.leaseScore = newScore;
        return item;
      });
      pending++;
      this.broker.extendLeases(queue, items, newScore).then(
        (lost) => {
          if (lost.length > 0) this.processor.loseLeases(queue, lost);
          if (--pending === 0 && !failed) this.lastSuccess = this.clock.now();
        },
        (err: unknown) => {
          failed = true;
          this.onError(toError(err));
        },
      );
    }
    if (pending === 0) this.lastSuccess = now;
  }

  shutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
