import type { RedisBroker } from './broker/redis-broker.js';
import type { Clock } from './clock.js';
import { toError } from './errors.js';

/** Deletes completed tasks whose retention expired and archived tasks older than 90 days. */
export class Janitor {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly broker: RedisBroker,
    private readonly queues: string[],
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly onError: (err: Error) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.run(), this.intervalMs);
    this.timer.unref();
  }

  /** One cleaning round; returns how many task records were deleted. */
  async run(): Promise<number> {
    let deleted = 0;
    try {
      for (const queue of this.queues) deleted += await this.broker.janitor(queue, this.clock.now());
    } catch (err) {
      this.onError(toError(err));
    }
    return deleted;
  }

  shutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
