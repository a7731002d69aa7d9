import type { WorkerOps } from '../broker/broker.js';
import type { Clock } from '../clock.js';
import { toError } from '../errors.js';
import { startInterval, type Timer } from '../timers.js';
import type { RunningTasks } from './running-tasks.js';

/** What the heartbeat needs. */
export interface HeartbeatParams {
  broker: Pick<WorkerOps, 'extendLeases'>;
  running: RunningTasks;
  clock: Clock;
  leaseMs: number;
  /** Aborts runs whose lease was lost (nothing is written for them). */
  loseLeases: (queue: string, ids: string[]) => void;
  onError: (err: Error) => void;
}

/**
 * Extends the leases of running tasks every third of the lease duration. Leases reported lost (another worker took
 * the task over) abort their runs; if no extension succeeded for a whole lease duration (Redis unreachable), the
 * leases are presumed lost too.
 */
export class Heartbeat {
  private timer?: Timer;
  private lastSuccess: number;

  constructor(private readonly p: HeartbeatParams) {
    this.lastSuccess = p.clock.now();
  }

  start(): void {
    this.lastSuccess = this.p.clock.now();
    this.timer = startInterval(this.p.clock, Math.max(100, Math.floor(this.p.leaseMs / 3)), () => this.beat(), {
      unref: true,
    });
  }

  /** One extension round; the new score is given to each run before the call is sent (see Acker). */
  beat(): void {
    const now = this.p.clock.now();
    if (now - this.lastSuccess > this.p.leaseMs) {
      for (const [queue, runs] of this.p.running.queues())
        this.p.loseLeases(
          queue,
          runs.map((r) => r.id),
        );
    }
    let pending = 0;
    let failed = false;
    for (const [queue, runs] of this.p.running.queues()) {
      const newScore = this.p.running.leaseScore();
      const items = this.p.running.renewLeases(runs, newScore);
      pending++;
      this.p.broker.extendLeases(queue, items, newScore).then(
        (lost) => {
          if (lost.length > 0) this.p.loseLeases(queue, lost);
          if (--pending === 0 && !failed) this.lastSuccess = this.p.clock.now();
        },
        (err: unknown) => {
          failed = true;
          this.p.onError(toError(err));
        },
      );
    }
    if (pending === 0) this.lastSuccess = now;
  }

  shutdown(): void {
    this.timer?.clear();
  }
}
