/**
 * One measurement in its own Node process (spawned by run.ts, pinned to a CPU when taskset is available), so no
 * library's connections, timers, JIT state or heap carry into another's measurement.
 * argv: <spec JSON> <result file>. Writes { ok, result } or { ok: false, error } to the result file.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { Adapter, LibName } from './adapters/types.js';
import { ServerProbe } from './redis.js';
import type { WorkloadContext } from './workloads/context.js';

export type WorkloadName = 'throughput' | 'enqueue' | 'latency' | 'delayed' | 'idle' | 'memory' | 'kitdrain';

export interface ChildSpec {
  lib: LibName;
  workload: WorkloadName;
  url: string;
  round: number;
  params: unknown;
  /** Write a V8 CPU profile of the timed part here (.cpuprofile). */
  profileFile?: string;
}

/** A V8 CPU profiler (node:inspector) around the timed part only, so start-up and preload stay out of it. */
function inspectorProfiler(file: string): NonNullable<WorkloadContext['profiler']> {
  const session = new Session();
  session.connect();
  return {
    async start() {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
    },
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

async function loadAdapter(lib: LibName, url: string): Promise<Adapter> {
  switch (lib) {
    case 'bullmq':
      return (await import('./adapters/bullmq.js')).bullmqAdapter(url);
    case 'taskq':
      return (await import('./adapters/taskq.js')).taskqAdapter(url);
    case 'nest':
      return (await import('./adapters/nest.js')).nestAdapter(url);
    case 'memory':
      return (await import('./adapters/memory.js')).memoryAdapter();
  }
}

async function runWorkload(ctx: WorkloadContext, spec: ChildSpec): Promise<unknown> {
  const params = spec.params as never;
  switch (spec.workload) {
    case 'throughput':
      return (await import('./workloads/throughput.js')).throughput(ctx, params);
    case 'enqueue':
      return (await import('./workloads/enqueue.js')).enqueue(ctx, params);
    case 'latency':
      return (await import('./workloads/latency.js')).pickupLatency(ctx, params);
    case 'delayed':
      return (await import('./workloads/delayed.js')).delayedLateness(ctx, params);
    case 'idle':
      return (await import('./workloads/idle.js')).idleCommands(ctx, params);
    case 'memory':
      return (await import('./workloads/memory.js')).memoryPerTask(ctx, params);
    case 'kitdrain':
      return (await import('./workloads/kit-drain.js')).kitDrain(ctx, params);
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
  const out = process.argv[3];
  if (!out) throw new Error('usage: child.js <spec JSON> <result file>');
  const probe = new ServerProbe(spec.url);
  try {
    const adapter = await loadAdapter(spec.lib, spec.url);
    const ctx: WorkloadContext = {
      adapter,
      probe,
      queue: (tag) => `bench-${spec.lib}-r${spec.round}-${tag}`,
      profiler: spec.profileFile ? inspectorProfiler(spec.profileFile) : undefined,
    };
    const result = await runWorkload(ctx, spec);
    writeFileSync(out, JSON.stringify({ ok: true, result }));
  } catch (err) {
    writeFileSync(
      out,
      JSON.stringify({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  } finally {
    await probe.close();
  }
  // Libraries may leave timers or sockets behind after close(); the measurement is over either way.
  process.exit(0);
}

void main();
