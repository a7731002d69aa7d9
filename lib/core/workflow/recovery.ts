import type { WorkflowOps } from '../broker/broker.js';
import type { Clock } from '../clock.js';
import { toError } from '../errors.js';
import { startInterval, type Timer } from '../timers.js';
import type { WorkflowAdvancer } from './advancer.js';

/** A relay entry older than this was not applied by the worker that wrote it (it died, or Redis failed it). */
export const RELAY_GRACE_MS = 2_000;
const BATCH = 100;

/** What the recovery round needs. */
export interface WorkflowRecoveryParams {
  workflow: Pick<WorkflowOps, 'relays' | 'due'>;
  advancer: WorkflowAdvancer;
  queues: string[];
  clock: Clock;
  intervalMs: number;
  onError: (err: Error) => void;
}

/**
 * The workflows' safety net, run by every worker: applies relay entries of its queues that no worker applied, and
 * looks at workflows whose advance a worker died in (due, see advancer.ts). Everything it does is idempotent, so
 * several workers doing it at once is harmless.
 */
export class WorkflowRecovery {
  private timer?: Timer;
  private busy = false;

  constructor(private readonly p: WorkflowRecoveryParams) {}

  start(): void {
    this.timer = startInterval(this.p.clock, this.p.intervalMs, () => void this.run(), { unref: true });
  }

  /** One round; returns how many relay entries and workflows it handled. */
  async run(): Promise<number> {
    if (this.busy) return 0;
    this.busy = true;
    let handled = 0;
    try {
      const now = this.p.clock.now();
      for (const queue of this.p.queues) {
        const entries = await this.p.workflow.relays(queue, now - RELAY_GRACE_MS, BATCH);
        if (entries.length > 0) {
          await this.p.advancer.apply(queue, entries, true);
          handled += entries.length;
        }
      }
      for (const id of await this.p.workflow.due(now, BATCH)) {
        await this.p.advancer.advance(id, []);
        handled++;
      }
    } catch (err) {
      this.p.onError(toError(err));
    } finally {
      this.busy = false;
    }
    return handled;
  }

  shutdown(): void {
    this.timer?.clear();
  }
}
