/**
 * Workload 4 (and the trickle path of workload 3): pickup latency on an idle worker, closed loop. One task at a
 * time: stamp performance.now() into the payload, enqueue it with a single call, the handler records
 * (handler start - stamp); the next task is enqueued `gapMs` after the previous one was reported completed, so the
 * worker is parked (blocking on its wake-up key) each time.
 *
 * Two windows in one process. The cold window follows a short warm-up: V8 is still compiling the client library and
 * Node's stream code on background threads, which on a pinned CPU preempt the main thread for milliseconds (this is
 * reported, not gated). The measured window follows `settle` more tasks, once compilation has died down (the
 * background CPU of each window is recorded to show it), as perf.md §5 asks of a warm-up. Commands per task of this
 * single-enqueue + trickle path are counted over the measured window.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { commandDelta, type CommandDelta } from '../redis.js';
import { nowMs, round, sleep, summarize, type LatencySummary } from '../stats.js';
import { Countdown, type WorkloadContext } from './context.js';

export interface LatencyParams {
  /** Discarded tasks first (connections, script cache). */
  warmup: number;
  /** Recorded right after the warm-up, while the JIT still compiles: reported as the cold window. */
  coldSamples: number;
  /** Discarded tasks between the cold and the measured window, for the JIT to settle. */
  settle: number;
  /** The measured (gated) window. */
  samples: number;
  concurrency: number;
  gapMs: number;
}

export interface LatencyResult {
  latencyMs: LatencySummary;
  /** Every measured sample (ms), so the parent can pool rounds. */
  samplesMs: number[];
  /** The cold window (see the file comment). */
  coldLatencyMs: LatencySummary;
  /**
   * CPU time of the process's threads other than the main one (V8's compiler and GC helpers) during each window, in
   * ms; undefined where /proc is not available.
   */
  backgroundCpuMs: { cold?: number; measured?: number };
  trickleCommands: CommandDelta;
  concurrency: number;
  gapMs: number;
  /**
   * Control: closed-loop PING round trips on a fresh connection from this process with the same gap, after the
   * measured loop: the floor that loopback, the event loop and the OS scheduler set on this machine at this moment.
   */
  pingFloorMs: LatencySummary;
}

/** CPU ms of every thread of this process except the main one (Linux), or undefined. */
function backgroundCpu(): number | undefined {
  try {
    let total = 0;
    for (const tid of readdirSync('/proc/self/task')) {
      if (tid === String(process.pid)) continue;
      total += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
    }
    return total;
  } catch {
    return undefined;
  }
}

const since = (start: number | undefined): number | undefined => {
  const now = backgroundCpu();
  return start === undefined || now === undefined ? undefined : round(now - start, 1);
};

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
  let samples: number[] | undefined;
  const done = new Countdown();
  const worker = await ctx.adapter.worker(queue, {
    concurrency: p.concurrency,
    handler: async (payload) => {
      const latency = nowMs() - (payload as { t: number }).t;
      samples?.push(latency);
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
  /** Runs `count` tasks, recording their latency and the background-thread CPU meanwhile. */
  const record = async (count: number): Promise<{ latencies: number[]; backgroundMs?: number }> => {
    const latencies: number[] = (samples = []);
    const start = backgroundCpu();
    for (let i = 0; i < count; i++) await one();
    samples = undefined;
    return { latencies, backgroundMs: since(start) };
  };
  for (let i = 0; i < p.warmup; i++) await one();
  const cold = await record(p.coldSamples);
  for (let i = 0; i < p.settle; i++) await one();
  await ctx.probe.resetStats();
  const s0 = await ctx.probe.snapshot();
  const measured = await record(p.samples);
  const s1 = await ctx.probe.snapshot();
  await worker.close();
  await producer.close();
  const floor = await pingFloor(ctx.probe.url, Math.min(p.samples, 500), p.gapMs);
  return {
    latencyMs: summarize(measured.latencies),
    samplesMs: measured.latencies.map((v) => Math.round(v * 1000) / 1000),
    coldLatencyMs: summarize(cold.latencies),
    backgroundCpuMs: { cold: cold.backgroundMs, measured: measured.backgroundMs },
    trickleCommands: commandDelta(s0, s1, p.samples),
    concurrency: p.concurrency,
    gapMs: p.gapMs,
    pingFloorMs: floor,
  };
}
