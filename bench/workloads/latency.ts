/**
 * Workload 4 (and the trickle path of workload 3): pickup latency on an idle worker, closed loop. One task at a
 * time: stamp performance.now() into the payload, enqueue it with a single call, the handler records
 * (handler start - stamp); the next task is enqueued `gapMs` after the previous one was reported completed, so the
 * worker is parked (blocking on its wake-up key) each time. Commands per task of this single-enqueue + trickle path
 * are counted over the measured samples (enqueue + fetch + complete, plus whatever the idle worker sends meanwhile).
 */
import { Redis } from 'ioredis';
import { commandDelta, type CommandDelta } from '../redis.js';
import { nowMs, sleep, summarize, type LatencySummary } from '../stats.js';
import { Countdown, type WorkloadContext } from './context.js';

export interface LatencyParams {
  warmup: number;
  samples: number;
  concurrency: number;
  gapMs: number;
}

export interface LatencyResult {
  latencyMs: LatencySummary;
  /** Every measured sample (ms), so the parent can pool rounds. */
  samplesMs: number[];
  trickleCommands: CommandDelta;
  concurrency: number;
  gapMs: number;
  /**
   * Control: closed-loop PING round trips on a fresh connection from this process with the same gap, after the
   * measured loop: the floor that loopback, the event loop and the OS scheduler set on this machine at this moment.
   */
  pingFloorMs: LatencySummary;
}

async function pingFloor(url: string, samples: number, gapMs: number): Promise<LatencySummary> {
  const redis = new Redis(url, { connectionName: 'bench:ping-floor' });
  const rtt: number[] = [];
  try {
    await redis.ping();
    for (let i = 0; i < samples; i++) {
      const t = nowMs();
      await redis.ping();
      rtt.push(nowMs() - t);
      await sleep(gapMs);
    }
  } finally {
    redis.disconnect();
  }
  return summarize(rtt);
}

export async function pickupLatency(ctx: WorkloadContext, p: LatencyParams): Promise<LatencyResult> {
  const queue = ctx.queue('lat');
  const producer = await ctx.adapter.producer(queue);
  const samples: number[] = [];
  let recording = false;
  const done = new Countdown();
  const worker = await ctx.adapter.worker(queue, {
    concurrency: p.concurrency,
    handler: async (payload) => {
      const latency = nowMs() - (payload as { t: number }).t;
      if (recording) samples.push(latency);
    },
    onCompleted: done.tick,
  });
  await worker.start();
  await sleep(300);
  let sent = 0;
  const one = async (): Promise<void> => {
    await producer.enqueueOne({ t: nowMs() });
    sent += 1;
    await done.until(sent, 30_000, `${ctx.adapter.name} pickup latency`);
    await sleep(p.gapMs);
  };
  for (let i = 0; i < p.warmup; i++) await one();
  await ctx.probe.resetStats();
  const s0 = await ctx.probe.snapshot();
  recording = true;
  for (let i = 0; i < p.samples; i++) await one();
  const s1 = await ctx.probe.snapshot();
  await worker.close();
  await producer.close();
  const floor = await pingFloor(ctx.probe.url, Math.min(p.samples, 500), p.gapMs);
  return {
    latencyMs: summarize(samples),
    samplesMs: samples.map((v) => Math.round(v * 1000) / 1000),
    trickleCommands: commandDelta(s0, s1, p.samples),
    concurrency: p.concurrency,
    gapMs: p.gapMs,
    pingFloorMs: floor,
  };
}
