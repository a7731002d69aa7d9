/**
 * Workload 6: Redis commands an idle worker sends. Start a worker, let it process a few tasks (so it is past its
 * start-up and drained, as in production), wait a settle second, then count commands over `seconds`.
 */
import { commandDelta, round, type CommandDelta } from '../redis.js';
import { sleep } from '../stats.js';
import { Countdown, type WorkloadContext } from './context.js';

export interface IdleParams {
  seconds: number;
  concurrency: number;
}

export interface IdleResult {
  seconds: number;
  commandsPerSec: number;
  /** Executions per second, by command (including those inside scripts). */
  perSec: CommandDelta;
}

export async function idleCommands(ctx: WorkloadContext, p: IdleParams): Promise<IdleResult> {
  const queue = ctx.queue('idle');
  const producer = await ctx.adapter.producer(queue);
  const done = new Countdown();
  const worker = await ctx.adapter.worker(queue, {
    concurrency: p.concurrency,
    handler: async () => undefined,
    onCompleted: done.tick,
  });
  await worker.start();
  for (let i = 0; i < 10; i++) await producer.enqueueOne({ i });
  await done.until(10, 30_000, `${ctx.adapter.name} idle warm-up`);
  await producer.close();
  await sleep(1000);
  await ctx.probe.resetStats();
  const s0 = await ctx.probe.snapshot();
  await sleep(p.seconds * 1000);
  const s1 = await ctx.probe.snapshot();
  await worker.close();
  const perSec = commandDelta(s0, s1, p.seconds);
  return { seconds: p.seconds, commandsPerSec: round(perSec.total, 3), perSec };
}
