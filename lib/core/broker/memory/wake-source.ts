import type { WakeMarker, WakeSource, WakeSourceParams } from '../broker.js';
import type { MemoryContext } from './context.js';
import type { Sleeper } from './store.js';

/**
 * Where an idle worker waits in memory: the twin of a BZPOPMIN on its queues' wake keys. A marker wakes one sleeper
 * (the one that blocked first), and a sleeper that finds a marker waiting takes it at once. No hand-offs arrive here:
 * they save Redis round trips, and there are none to save.
 */
export class MemoryWakeSource implements WakeSource {
  private closed = false;
  private ending?: () => void;

  constructor(
    private readonly ctx: MemoryContext,
    private readonly queues: readonly string[],
    _params: WakeSourceParams,
  ) {}

  wait(timeoutMs: number): Promise<WakeMarker | undefined> {
    if (this.closed || this.ctx.isClosed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const wait: { done: boolean; timer?: NodeJS.Timeout } = { done: false };
      const finish = (marker: WakeMarker | undefined): void => {
        if (wait.done) return;
        wait.done = true;
        clearTimeout(wait.timer);
        this.ctx.space.unblock(sleeper);
        this.ending = undefined;
        resolve(marker);
      };
      const sleeper: Sleeper = { queues: this.queues, wake: (queue, kind) => finish({ queue, kind }) };
      if (this.ctx.space.sleep(sleeper)) return;
      // Real time, as a blocking command's timeout is: the worker looks at its queues again after it.
      wait.timer = setTimeout(() => finish(undefined), Math.max(0, timeoutMs));
      wait.timer.unref();
      this.ending = () => finish(undefined);
    });
  }

  async close(_graceMs: number): Promise<void> {
    this.closed = true;
    this.ending?.();
  }
}
