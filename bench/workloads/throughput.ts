/**
 * Workload 1 (and the batch path of workload 3): preload N tasks with untimed batch enqueues, then time one worker
 * (concurrency C, no-op handler) draining them. Also reports Node and Redis CPU per task and the Redis commands per
 * task of the preload (enqueue) and the drain (fetch + complete), counted with INFO commandstats.
 */
import { SMALL_PAYLOAD } from '../adapters/types.js';
import { commandDelta, round, type CommandDelta, type ServerSnapshot } from '../redis.js';
import { nowMs } from '../stats.js';
import { Countdown, cpuSince, type WorkloadContext } from './context.js';

export interface ThroughputParams {
  tasks: number;
  concurrency: number;
  /** Tasks drained first on another queue, discarded (JIT, script cache, connections). */
  warmup: number;
  batch: number;
}

export interface ThroughputResult {
  tasks: number;
  concurrency: number;
  /** From the first handler call to the last completion written. */
  seconds: number;
  tasksPerSec: number;
  /** From start()/listen() to the first handler call (not timed). */
  startupMs: number;
  nodeCpuUsPerTask: number;
  redisCpuUsPerTask: number;
  /** Commands per task of the batch preload (enqueueMany / addBulk). */
  enqueueCommands: CommandDelta;
  /** Commands per task of the drain (fetch + complete), including worker shutdown. */
  processCommands: CommandDelta;
  /** enqueue + process executions per task: the whole life on the batch path. */
  commandsPerTask: number;
  /** Tasks of the measured queue still in Redis after the drain (must be 0). */
  leftover: number;
}

async function drain(
  ctx: WorkloadContext,
  queue: string,
  p: ThroughputParams,
  measure: boolean,
): Promise<ThroughputResult> {
  const n = measure ? p.tasks : p.warmup;
  const producer = await ctx.adapter.producer(queue);
  if (measure) await ctx.probe.resetStats();
  const s0 = await ctx.probe.snapshot();
  for (let i = 0; i < n; i += p.batch) {
    const size = Math.min(p.batch, n - i);
    await producer.enqueueBulk(Array.from({ length: size }, () => ({ ...SMALL_PAYLOAD })));
  }
  const done = new Countdown();
  // The clock starts at the first handler call, for every library alike: start-up work that differs by design (the
  // Nest transport also starts the periodic scheduler, BullMQ its stalled-job checker) is reported, not timed.
  let first: { t: number; cpu: NodeJS.CpuUsage; snapshot: Promise<ServerSnapshot> } | undefined;
  const worker = await ctx.adapter.worker(queue, {
    concurrency: p.concurrency,
    handler: async () => {
      first ??= { t: nowMs(), cpu: process.cpuUsage(), snapshot: ctx.probe.snapshot() };
      return undefined;
    },
    onCompleted: done.tick,
  });
  const s1 = await ctx.probe.snapshot();
  if (measure) await ctx.profiler?.start();
  const tStart = nowMs();
  await worker.start();
  await done.until(n, 120_000, `${ctx.adapter.name} drain`);
  await ctx.adapter.settle?.(queue, ctx.probe);
  const t1 = nowMs();
  if (measure) await ctx.profiler?.stop();
  if (!first) throw new Error(`${ctx.adapter.name}: no handler ran`);
  const nodeCpu = cpuSince(first.cpu);
  const s1b = await first.snapshot;
  const s2 = await ctx.probe.snapshot();
  await worker.close();
  await producer.close();
  const s3 = await ctx.probe.snapshot();
  const leftover = await ctx.adapter.leftover(queue, ctx.probe.redis);
  const enqueueCommands = commandDelta(s0, s1, n);
  const processCommands = commandDelta(s1, s3, n);
  const seconds = (t1 - first.t) / 1000;
  return {
    tasks: n,
    concurrency: p.concurrency,
    seconds: round(seconds, 3),
    tasksPerSec: Math.round(n / seconds),
    nodeCpuUsPerTask: round(nodeCpu / n, 1),
    redisCpuUsPerTask: round((s2.cpuMicros - s1b.cpuMicros) / n, 1),
    startupMs: round(first.t - tStart, 1),
    enqueueCommands,
    processCommands,
    commandsPerTask: round(enqueueCommands.total + processCommands.total, 2),
    leftover,
  };
}

export async function throughput(ctx: WorkloadContext, p: ThroughputParams): Promise<ThroughputResult> {
  if (p.warmup > 0) await drain(ctx, ctx.queue('warm'), p, false);
  await ctx.probe.flushAll();
  return drain(ctx, ctx.queue('tp'), p, true);
}
