/**
 * Workload 2: producer throughput. (a) batches of `batch` tasks, one batch call at a time (taskq `enqueueMany`,
 * BullMQ `addBulk`); (b) single enqueue calls with `inFlight` outstanding at any time. No worker runs. Each part on a
 * fresh queue, after a discarded warm-up on another queue.
 */
import { SMALL_PAYLOAD, type Producer } from '../adapters/types.js';
import { commandDelta, round, type CommandDelta } from '../redis.js';
import { nowMs } from '../stats.js';
import { cpuSince, type WorkloadContext } from './context.js';

export interface EnqueueParams {
  bulkTasks: number;
  batch: number;
  singleTasks: number;
  inFlight: number;
}

export interface EnqueuePart {
  tasks: number;
  seconds: number;
  tasksPerSec: number;
  nodeCpuUsPerTask: number;
  redisCpuUsPerTask: number;
  commands: CommandDelta;
}

export interface EnqueueResult {
  bulk: EnqueuePart & { batch: number };
  single: EnqueuePart & { inFlight: number };
}

async function runBulk(producer: Producer, n: number, batch: number): Promise<void> {
  for (let i = 0; i < n; i += batch) {
    const size = Math.min(batch, n - i);
    await producer.enqueueBulk(Array.from({ length: size }, () => ({ ...SMALL_PAYLOAD })));
  }
}

async function runSingle(producer: Producer, n: number, inFlight: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next += 1;
      await producer.enqueueOne({ ...SMALL_PAYLOAD });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, lane));
}

async function measure(
  ctx: WorkloadContext,
  tag: string,
  warmup: number,
  n: number,
  run: (p: Producer, count: number) => Promise<void>,
): Promise<EnqueuePart> {
  const warm = await ctx.adapter.producer(ctx.queue(`${tag}-warm`));
  await run(warm, warmup);
  await warm.close();
  await ctx.probe.flushAll();
  const producer = await ctx.adapter.producer(ctx.queue(tag));
  await ctx.probe.resetStats();
  const s0 = await ctx.probe.snapshot();
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  await run(producer, n);
  const t1 = nowMs();
  const nodeCpu = cpuSince(cpu0);
  const s1 = await ctx.probe.snapshot();
  await producer.close();
  await ctx.probe.flushAll();
  const seconds = (t1 - t0) / 1000;
  return {
    tasks: n,
    seconds: round(seconds, 3),
    tasksPerSec: Math.round(n / seconds),
    nodeCpuUsPerTask: round(nodeCpu / n, 1),
    redisCpuUsPerTask: round((s1.cpuMicros - s0.cpuMicros) / n, 1),
    commands: commandDelta(s0, s1, n),
  };
}

export async function enqueue(ctx: WorkloadContext, p: EnqueueParams): Promise<EnqueueResult> {
  // Each part first runs a tenth of its tasks on another queue, discarded (JIT, script cache).
  const bulkWarm = Math.max(p.batch, Math.round(p.bulkTasks / 10 / p.batch) * p.batch);
  const singleWarm = Math.max(p.inFlight, Math.round(p.singleTasks / 10));
  const bulk = await measure(ctx, 'bulk', bulkWarm, p.bulkTasks, (prod, n) => runBulk(prod, n, p.batch));
  const single = await measure(ctx, 'single', singleWarm, p.singleTasks, (prod, n) => runSingle(prod, n, p.inFlight));
  return { bulk: { ...bulk, batch: p.batch }, single: { ...single, inFlight: p.inFlight } };
}
