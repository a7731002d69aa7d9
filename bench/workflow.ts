/**
 * Workflow benchmark: each measurement in its own process (workflow-child.ts), alternating over rounds:
 *  - a chord of N no-op members plus a callback (one worker, concurrency 100), end to end, against N plain no-op
 *    tasks enqueued with enqueueMany and drained (target: chord ≤ 1.5x plain), and against BullMQ's FlowProducer with
 *    one parent and N children (target: ≥ 3x faster);
 *  - chord completion latency on an idle worker: the last member's handler returning → the callback's handler
 *    starting (target: p50 ≤ 2 ms);
 *  - Redis memory per running (pending) member against a plain pending task (target: ≤ 1.5x).
 *
 * Standalone: `npm run build:dev && node dist-dev/bench/workflow.js` (prints JSON). BENCH_QUICK=1 is smaller.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Check } from './report.js';
import { round, startBenchRedis, ServerProbe } from './redis.js';
import { median, percentile } from './stats.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./workflow-child.js', import.meta.url));
const QUICK = process.env.BENCH_QUICK === '1';

/** Parameters of the workflow benchmark. */
export const WORKFLOW_PARAMS = {
  tasks: QUICK ? 5_000 : 10_000,
  rounds: QUICK ? 2 : 4,
  latencyChords: QUICK ? 100 : 300,
  memoryTasks: QUICK ? 10_000 : 20_000,
};

/** What the workflow benchmark measured. */
export interface WorkflowBenchResult {
  tasks: number;
  /** Median end-to-end ms over the rounds. */
  plainMs: number;
  chordMs: number;
  flowMs: number;
  chordVsPlain: number;
  flowVsChord: number;
  rounds: { plain: number[]; chord: number[]; flow: number[] };
  completionLatencyMs: { p50: number; p99: number; samples: number };
  memory: { plainBytes: number; memberBytes: number; ratio: number };
}

async function child(mode: string, url: string, params: unknown, cpu?: number): Promise<Record<string, unknown>> {
  const argv = [CHILD, mode, url, JSON.stringify(params)];
  const { stdout } =
    cpu === undefined
      ? await run(process.execPath, argv, { maxBuffer: 64 * 1024 * 1024 })
      : await run('taskset', ['-c', String(cpu), process.execPath, ...argv], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

/** Runs the benchmark against the Redis at `url` (flushed between measurements). */
export async function workflowBench(options: {
  url: string;
  cpu?: number;
  log?: (m: string) => void;
}): Promise<WorkflowBenchResult> {
  const { url, cpu } = options;
  const log = options.log ?? (() => undefined);
  const probe = new ServerProbe(url);
  const p = WORKFLOW_PARAMS;
  const rounds = { plain: [] as number[], chord: [] as number[], flow: [] as number[] };
  try {
    for (let r = 0; r <= p.rounds; r++) {
      const modes = r % 2 === 0 ? ['plain', 'chord', 'flow'] : ['flow', 'chord', 'plain'];
      for (const mode of modes) {
        await probe.flushAll();
        const out = await child(mode, url, { tasks: p.tasks }, cpu);
        // Round 0 warms the machine up (page cache, CPU frequency) and is discarded.
        if (r > 0) rounds[mode as keyof typeof rounds].push(Number(out.ms));
        log(`  workflow ${mode} round ${r}: ${Math.round(Number(out.ms))} ms`);
      }
    }
    await probe.flushAll();
    const lat = (await child('latency', url, { tasks: 5, latencyChords: p.latencyChords }, cpu)) as {
      samples: number[];
    };
    await probe.flushAll();
    const mem = (await child('memory', url, { tasks: p.memoryTasks }, cpu)) as {
      plainBytes: number;
      memberBytes: number;
    };
    const plainMs = median(rounds.plain);
    const chordMs = median(rounds.chord);
    const flowMs = median(rounds.flow);
    return {
      tasks: p.tasks,
      plainMs: round(plainMs, 1),
      chordMs: round(chordMs, 1),
      flowMs: round(flowMs, 1),
      chordVsPlain: round(chordMs / plainMs, 2),
      flowVsChord: round(flowMs / chordMs, 2),
      rounds,
      completionLatencyMs: {
        p50: round(percentile(lat.samples, 50), 2),
        p99: round(percentile(lat.samples, 99), 2),
        samples: lat.samples.length,
      },
      memory: {
        plainBytes: round(mem.plainBytes, 1),
        memberBytes: round(mem.memberBytes, 1),
        ratio: round(mem.memberBytes / mem.plainBytes, 2),
      },
    };
  } finally {
    await probe.close();
  }
}

/** The report's table rows of a workflow result. */
export function workflowChecks(r: WorkflowBenchResult): Check[] {
  return [
    {
      id: 'workflow-chord-vs-plain',
      what: `chord of ${r.tasks / 1000}k no-op + callback vs ${r.tasks / 1000}k plain (end to end)`,
      unit: 'ms',
      taskq: r.chordMs,
      ratio: r.chordVsPlain,
      target: '<= 1.5x',
      pass: r.chordVsPlain <= 1.5,
    },
    {
      id: 'workflow-flow-vs-chord',
      what: `BullMQ FlowProducer 1 parent + ${r.tasks / 1000}k children / taskq chord`,
      unit: 'ms',
      taskq: r.chordMs,
      bullmq: r.flowMs,
      ratio: r.flowVsChord,
      target: '>= 3x',
      pass: r.flowVsChord >= 3,
    },
    {
      id: 'workflow-completion-p50',
      what: 'chord completion latency p50 (last member → callback starts)',
      unit: 'ms',
      taskq: r.completionLatencyMs.p50,
      target: '<= 2 ms',
      pass: r.completionLatencyMs.p50 <= 2,
    },
    {
      id: 'workflow-memory',
      what: 'Redis memory per running workflow member / plain pending task',
      unit: 'bytes',
      taskq: r.memory.memberBytes,
      ratio: r.memory.ratio,
      target: '<= 1.5x',
      pass: r.memory.ratio <= 1.5,
    },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const redis = await startBenchRedis();
  try {
    const result = await workflowBench({ url: redis.url, log: (m) => process.stderr.write(`${m}\n`) });
    process.stdout.write(`${JSON.stringify({ result, checks: workflowChecks(result) }, null, 2)}\n`);
  } finally {
    await redis.stop();
  }
}
