import type { WorkerOps } from '../broker/broker.js';
import type { Clock } from '../clock.js';
import { toError } from '../errors.js';
import { startInterval, type Timer } from '../timers.js';

/** What the janitor needs. */
export interface JanitorParams {
  broker: Pick<WorkerOps, 'janitor'>;
  queues: string[];
  clock: Clock;
  intervalMs: number;
  onError: (err: Error) => void;
}

/** Deletes completed tasks whose retention expired and archived tasks older than 90 days. */
export class Janitor {
  private timer?: Timer;

  constructor(private readonly p: JanitorParams) {}

  start(): void {
    this.timer = startInterval(this.p.clock, this.p.intervalMs, () => void this.run(), { unref: true });
  }

  /** One cleaning round; returns how many task records were deleted. */
  async run(): Promise<number> {
    let deleted = 0;
    try {
      for (const queue of this.p.queues) deleted += await this.p.broker.janitor(queue, this.p.clock.now());
    } catch (err) {
      this.p.onError(toError(err));
    }
    return deleted;
  }

  shutdown(): void {
    this.timer?.clear();
  }
}
