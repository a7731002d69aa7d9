/**
 * Workload 5: lateness of delayed tasks. Tasks are enqueued `spacingMs` apart with a delay drawn uniformly from
 * [minDelayMs, maxDelayMs] (the same seeded sequence for every library); the intended time is stamped just before the
 * enqueue call (now + delay); lateness = handler start - intended time. The first `warmup` tasks are not recorded.
 */
import { nowMs, seededRandom, sleep, summarize, type LatencySummary } from '../stats.js';
import { Countdown, type WorkloadContext } from './context.js';

export interface DelayedParams {
  warmup: number;
  samples: number;
  spacingMs: number;
  minDelayMs: number;
  maxDelayMs: number;
  concurrency: number;
  seed: number;
}

export interface DelayedResult {
  latenessMs: LatencySummary;
  /** Tasks that ran before their intended time (by more than 1 ms), if any. */
  early: number;
  /**
   * Control: a bare setTimeout with the same delay, armed in the same process next to each enqueue. Its lateness is
   * what the event loop and the OS scheduler add on this machine at this moment, whatever the library does.
   */
  timerFloorMs: LatencySummary;
  params: DelayedParams;
}

export async function delayedLateness(ctx: WorkloadContext, p: DelayedParams): Promise<DelayedResult> {
  const queue = ctx.queue('delay');
  const producer = await ctx.adapter.producer(queue);
  const lateness: number[] = [];
  const done = new Countdown();
  const worker = await ctx.adapter.worker(queue, {
    concurrency: p.concurrency,
    handler: async (payload) => {
      const { due, i } = payload as { due: number; i: number };
      if (i >= p.warmup) lateness.push(nowMs() - due);
    },
    onCompleted: done.tick,
  });
  await worker.start();
  await sleep(300);
  const floor: number[] = [];
  let floorPending = 0;
  const rnd = seededRandom(p.seed);
  const total = p.warmup + p.samples;
  for (let i = 0; i < total; i++) {
    const delay = Math.round(p.minDelayMs + (p.maxDelayMs - p.minDelayMs) * rnd());
    const due = nowMs() + delay;
    if (i >= p.warmup) {
      floorPending += 1;
      setTimeout(() => {
        floor.push(nowMs() - due);
        floorPending -= 1;
      }, delay);
    }
    await producer.enqueueOne({ due, i }, delay);
    await sleep(p.spacingMs);
  }
  await done.until(total, p.maxDelayMs + 30_000, `${ctx.adapter.name} delayed tasks`);
  while (floorPending > 0) await sleep(5);
  await worker.close();
  await producer.close();
  return {
    latenessMs: summarize(lateness),
    early: lateness.filter((v) => v < -1).length,
    timerFloorMs: summarize(floor),
    params: p,
  };
}
