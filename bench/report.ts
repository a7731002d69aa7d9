/** Turns the per-round results into medians, ratios and pass/fail checks, and prints the human table. */
import type { LibName } from './adapters/types.js';
import type { ProfileSummary } from './profile.js';
import type { SchedulerBenchResult } from './scheduler.js';
import { workflowChecks, type WorkflowBenchResult } from './workflow.js';
import { round } from './redis.js';
import { median, summarize, type LatencySummary } from './stats.js';
import type { DelayedResult } from './workloads/delayed.js';
import type { EnqueueResult } from './workloads/enqueue.js';
import type { IdleResult } from './workloads/idle.js';
import type { KitDrainResult } from './workloads/kit-drain.js';
import type { LatencyResult } from './workloads/latency.js';
import type { MemoryResult } from './workloads/memory.js';
import type { ThroughputResult } from './workloads/throughput.js';

type PerLib<T> = Partial<Record<LibName, T[]>>;

export interface RawResults {
  throughput: PerLib<unknown>;
  enqueue: PerLib<unknown>;
  latency: PerLib<unknown>;
  delayed: PerLib<unknown>;
  idle: PerLib<unknown>;
  memory: PerLib<unknown>;
  /** The throughput drain on both backends: `taskq` (Redis) and `memory`. */
  inmemory: PerLib<unknown>;
  kitDrain: unknown[];
}

export interface Check {
  id: string;
  what: string;
  unit: string;
  taskq?: number;
  nest?: number;
  bullmq?: number;
  /** The in-memory backend's figure. */
  memory?: number;
  /** The compared ratio (e.g. taskq / BullMQ), when the target is a ratio. */
  ratio?: number;
  target: string;
  /** null: informational, or a figure is missing. */
  pass: boolean | null;
}

const med = (xs: number[]): number | undefined => (xs.length ? round(median(xs), 2) : undefined);
const div = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || b === 0 ? undefined : round(a / b, 2);
const ok = (value: number | undefined, test: (v: number) => boolean): boolean | null =>
  value === undefined ? null : test(value);

/** Median of per-round ratios a[i] / b[i] (rounds are paired by index). */
function pairedRatio(a: number[], b: number[]): number | undefined {
  const n = Math.min(a.length, b.length);
  const r: number[] = [];
  for (let i = 0; i < n; i++) if (b[i]) r.push(a[i]! / b[i]!);
  return med(r);
}

function throughputSummary(rs: ThroughputResult[]) {
  return {
    tasksPerSec: med(rs.map((r) => r.tasksPerSec)),
    perRound: rs.map((r) => r.tasksPerSec),
    nodeCpuUsPerTask: med(rs.map((r) => r.nodeCpuUsPerTask)),
    redisCpuUsPerTask: med(rs.map((r) => r.redisCpuUsPerTask)),
    commandsPerTask: med(rs.map((r) => r.commandsPerTask)),
    enqueueCommandsPerTask: rs[0]?.enqueueCommands,
    processCommandsPerTask: rs[0]?.processCommands,
    startupMs: med(rs.map((r) => r.startupMs)),
    leftover: Math.max(0, ...rs.map((r) => r.leftover)),
  };
}

function enqueueSummary(rs: EnqueueResult[], part: 'bulk' | 'single') {
  return {
    tasksPerSec: med(rs.map((r) => r[part].tasksPerSec)),
    perRound: rs.map((r) => r[part].tasksPerSec),
    nodeCpuUsPerTask: med(rs.map((r) => r[part].nodeCpuUsPerTask)),
    redisCpuUsPerTask: med(rs.map((r) => r[part].redisCpuUsPerTask)),
    commandsPerTask: rs[0]?.[part].commands,
  };
}

function latencySummary(rs: LatencyResult[]): {
  pooled: LatencySummary;
  perRound: LatencySummary[];
  coldPerRound: LatencySummary[];
  backgroundCpuMsPerRound: LatencyResult['backgroundCpuMs'][];
  pingFloorPerRound: LatencySummary[];
  trickleCommandsPerTask: number | undefined;
  trickleCommands: unknown;
} {
  return {
    pooled: summarize(rs.flatMap((r) => r.samplesMs)),
    perRound: rs.map((r) => r.latencyMs),
    coldPerRound: rs.map((r) => r.coldLatencyMs),
    backgroundCpuMsPerRound: rs.map((r) => r.backgroundCpuMs),
    pingFloorPerRound: rs.map((r) => r.pingFloorMs),
    trickleCommandsPerTask: med(rs.map((r) => r.trickleCommands.total)),
    trickleCommands: rs[0]?.trickleCommands,
  };
}

export function buildReport(
  env: Record<string, unknown>,
  raw: RawResults,
  scheduler: SchedulerBenchResult | { error: string } | undefined,
  profile: Partial<Record<LibName, ProfileSummary | { error: string }>> | undefined,
  workflow?: WorkflowBenchResult | { error: string },
) {
  const tp = Object.fromEntries(
    Object.entries(raw.throughput).map(([k, v]) => [k, throughputSummary(v as ThroughputResult[])]),
  );
  const enqBulk = Object.fromEntries(
    Object.entries(raw.enqueue).map(([k, v]) => [k, enqueueSummary(v as EnqueueResult[], 'bulk')]),
  );
  const enqSingle = Object.fromEntries(
    Object.entries(raw.enqueue).map(([k, v]) => [k, enqueueSummary(v as EnqueueResult[], 'single')]),
  );
  const lat = Object.fromEntries(
    Object.entries(raw.latency).map(([k, v]) => [k, latencySummary(v as LatencyResult[])]),
  );
  const delayed = Object.fromEntries(
    Object.entries(raw.delayed).map(([k, v]) => {
      const rs = v as DelayedResult[];
      return [
        k,
        {
          p99: med(rs.map((r) => r.latenessMs.p99)),
          p50: med(rs.map((r) => r.latenessMs.p50)),
          floorP99: med(rs.map((r) => r.timerFloorMs.p99)),
          perRound: rs,
        },
      ];
    }),
  );
  const idle = Object.fromEntries(Object.entries(raw.idle).map(([k, v]) => [k, (v as IdleResult[])[0]]));
  const inmemory = Object.fromEntries(
    Object.entries(raw.inmemory).map(([k, v]) => [k, throughputSummary(v as ThroughputResult[])]),
  );
  const kitDrain = raw.kitDrain[0] as KitDrainResult | undefined;
  const inmemoryRounds = (lib: LibName): number[] =>
    ((raw.inmemory[lib] ?? []) as ThroughputResult[]).map((r) => r.tasksPerSec);
  const memory = Object.fromEntries(Object.entries(raw.memory).map(([k, v]) => [k, (v as MemoryResult[])[0]]));
  const tpRounds = (lib: LibName): number[] =>
    ((raw.throughput[lib] ?? []) as ThroughputResult[]).map((r) => r.tasksPerSec);
  const enqRounds = (lib: LibName, part: 'bulk' | 'single'): number[] =>
    ((raw.enqueue[lib] ?? []) as EnqueueResult[]).map((r) => r[part].tasksPerSec);

  const checks: Check[] = [];
  const ratioCheck = (
    id: string,
    what: string,
    unit: string,
    a: number | undefined,
    b: number | undefined,
    min: number,
    extra: Partial<Check> = {},
  ): void => {
    const ratio = div(a, b);
    checks.push({ id, what, unit, ratio, target: `>= ${min}x`, pass: ok(ratio, (r) => r >= min), ...extra });
  };
  ratioCheck(
    'throughput-core',
    'drain 20k no-op, conc 100: taskq / BullMQ',
    'tasks/s',
    tp.taskq?.tasksPerSec,
    tp.bullmq?.tasksPerSec,
    3,
    {
      taskq: tp.taskq?.tasksPerSec,
      bullmq: tp.bullmq?.tasksPerSec,
    },
  );
  ratioCheck(
    'throughput-nest',
    'drain via Nest transport: nest / BullMQ',
    'tasks/s',
    tp.nest?.tasksPerSec,
    tp.bullmq?.tasksPerSec,
    2,
    {
      nest: tp.nest?.tasksPerSec,
      bullmq: tp.bullmq?.tasksPerSec,
    },
  );
  ratioCheck(
    'throughput-nest-vs-core',
    'drain via Nest transport: nest / core worker',
    'tasks/s',
    tp.nest?.tasksPerSec,
    tp.taskq?.tasksPerSec,
    0.7,
    {
      taskq: tp.taskq?.tasksPerSec,
      nest: tp.nest?.tasksPerSec,
    },
  );
  checks.push({
    id: 'node-cpu-drain',
    what: 'Node CPU per task, drain',
    unit: 'µs',
    taskq: tp.taskq?.nodeCpuUsPerTask,
    nest: tp.nest?.nodeCpuUsPerTask,
    bullmq: tp.bullmq?.nodeCpuUsPerTask,
    ratio: div(tp.taskq?.nodeCpuUsPerTask, tp.bullmq?.nodeCpuUsPerTask),
    target: 'info',
    pass: null,
  });
  checks.push({
    id: 'redis-cpu-drain',
    what: 'Redis CPU per task, drain',
    unit: 'µs',
    taskq: tp.taskq?.redisCpuUsPerTask,
    nest: tp.nest?.redisCpuUsPerTask,
    bullmq: tp.bullmq?.redisCpuUsPerTask,
    ratio: div(tp.taskq?.redisCpuUsPerTask, tp.bullmq?.redisCpuUsPerTask),
    target: 'info',
    pass: null,
  });
  ratioCheck(
    'enqueue-bulk',
    'enqueueMany(1000) / addBulk(1000)',
    'tasks/s',
    enqBulk.taskq?.tasksPerSec,
    enqBulk.bullmq?.tasksPerSec,
    4,
    {
      taskq: enqBulk.taskq?.tasksPerSec,
      bullmq: enqBulk.bullmq?.tasksPerSec,
    },
  );
  ratioCheck(
    'enqueue-single',
    'enqueue / add, 100 in flight',
    'tasks/s',
    enqSingle.taskq?.tasksPerSec,
    enqSingle.bullmq?.tasksPerSec,
    1.5,
    {
      taskq: enqSingle.taskq?.tasksPerSec,
      bullmq: enqSingle.bullmq?.tasksPerSec,
    },
  );
  checks.push({
    id: 'commands-batch',
    what: 'Redis cmds/task, enqueueMany + drain',
    unit: 'cmds',
    taskq: tp.taskq?.commandsPerTask,
    bullmq: tp.bullmq?.commandsPerTask,
    target: '<= 8',
    pass: ok(tp.taskq?.commandsPerTask, (v) => v <= 8),
  });
  checks.push({
    id: 'commands-trickle',
    what: 'Redis cmds/task, single enqueue + trickle',
    unit: 'cmds',
    taskq: lat.taskq?.trickleCommandsPerTask,
    bullmq: lat.bullmq?.trickleCommandsPerTask,
    ratio: div(lat.taskq?.trickleCommandsPerTask, lat.bullmq?.trickleCommandsPerTask),
    target: 'info',
    pass: null,
  });
  // Tail latency: each library's p99 is the median over its rounds, and the gate compares those. The noise on this
  // machine comes in bursts of 1-4 s (bench/README.md), shorter than a pair of rounds, so it spoils pairs at random;
  // per-library medians drop the rounds it hit. The median of per-round paired ratios is reported next to it.
  const roundP = (lib: LibName, k: 'p50' | 'p99'): number[] => lat[lib]?.perRound.map((x) => x[k]) ?? [];
  const p50 = med(roundP('taskq', 'p50'));
  checks.push({
    id: 'latency-p50',
    what: 'pickup latency p50, idle worker (warm)',
    unit: 'ms',
    taskq: p50,
    bullmq: med(roundP('bullmq', 'p50')),
    target: '<= 1 ms',
    pass: ok(p50, (v) => v <= 1),
  });
  const p99Taskq = med(roundP('taskq', 'p99'));
  const p99Bullmq = med(roundP('bullmq', 'p99'));
  const p99Ratio = div(p99Taskq, p99Bullmq);
  checks.push({
    id: 'latency-p99',
    what: 'pickup latency p99 (warm): taskq / BullMQ',
    unit: 'ms',
    taskq: p99Taskq,
    bullmq: p99Bullmq,
    ratio: p99Ratio,
    target: '<= 0.5x',
    pass: ok(p99Ratio, (r) => r <= 0.5),
  });
  checks.push({
    id: 'latency-p99-paired',
    what: 'pickup p99 (warm), median of per-round ratios',
    unit: 'ratio',
    ratio: pairedRatio(roundP('taskq', 'p99'), roundP('bullmq', 'p99')),
    target: 'info',
    pass: null,
  });
  const coldP99 = (lib: LibName): number[] => lat[lib]?.coldPerRound.map((x) => x.p99) ?? [];
  checks.push({
    id: 'latency-cold-p99',
    what: 'pickup p99, cold window (JIT still compiling)',
    unit: 'ms',
    taskq: med(coldP99('taskq')),
    bullmq: med(coldP99('bullmq')),
    ratio: pairedRatio(coldP99('taskq'), coldP99('bullmq')),
    target: 'info',
    pass: null,
  });
  const floorP99 = (lib: LibName): number | undefined => {
    const f = lat[lib]?.pingFloorPerRound.map((x) => x.p99).filter((x) => Number.isFinite(x)) ?? [];
    return med(f);
  };
  checks.push({
    id: 'latency-floor',
    what: 'control: PING round trip p99 (same gap)',
    unit: 'ms',
    taskq: floorP99('taskq'),
    bullmq: floorP99('bullmq'),
    target: 'info',
    pass: null,
  });
  checks.push({
    id: 'delayed-p99',
    what: 'delayed task lateness p99 (200-700 ms)',
    unit: 'ms',
    taskq: delayed.taskq?.p99,
    bullmq: delayed.bullmq?.p99,
    target: '<= 20 ms',
    pass: ok(delayed.taskq?.p99, (v) => v <= 20),
  });
  checks.push({
    id: 'delayed-floor',
    what: 'control: bare setTimeout lateness p99',
    unit: 'ms',
    taskq: delayed.taskq?.floorP99,
    bullmq: delayed.bullmq?.floorP99,
    target: 'info',
    pass: null,
  });
  checks.push({
    id: 'idle-commands',
    what: 'idle worker Redis commands per second',
    unit: 'cmds/s',
    taskq: idle.taskq?.commandsPerSec,
    bullmq: idle.bullmq?.commandsPerSec,
    target: '<= 2/s',
    pass: ok(idle.taskq?.commandsPerSec, (v) => v <= 2),
  });
  const memRatio = div(memory.taskq?.bytesPerTask, memory.bullmq?.bytesPerTask);
  checks.push({
    id: 'memory',
    what: 'Redis memory per pending task',
    unit: 'bytes',
    taskq: memory.taskq?.bytesPerTask,
    bullmq: memory.bullmq?.bytesPerTask,
    ratio: memRatio,
    target: '<= 0.75x',
    pass: ok(memRatio, (r) => r <= 0.75),
  });
  ratioCheck(
    'inmemory-drain',
    'drain 20k no-op, conc 100: memory:// / Redis',
    'tasks/s',
    inmemory.memory?.tasksPerSec,
    inmemory.taskq?.tasksPerSec,
    3,
    { taskq: inmemory.taskq?.tasksPerSec, memory: inmemory.memory?.tasksPerSec },
  );
  checks.push({
    id: 'kit-drain',
    what: `testing kit drain() of ${kitDrain?.tasks ?? 1000} tasks, fresh process`,
    unit: 'ms',
    memory: kitDrain?.firstMs,
    target: '< 1000 ms',
    pass: ok(kitDrain?.firstMs, (v) => v < 1000),
  });
  checks.push({
    id: 'kit-drain-warm',
    what: 'testing kit drain(), warm (median)',
    unit: 'ms',
    memory: kitDrain?.warmMs,
    target: 'info',
    pass: null,
  });
  if (scheduler && 'multi' in scheduler) {
    const { multi, single } = scheduler;
    checks.push({
      id: 'scheduler-multi-p99',
      what: `periodic: ${multi.schedulers} schedulers x ${multi.entries} entries, lateness p99`,
      unit: 'ms',
      taskq: multi.p99,
      target: `<= ${multi.targetP99Ms} ms, 0 dup`,
      pass: multi.pass,
    });
    checks.push({
      id: 'scheduler-single-max',
      what: `periodic: 1 scheduler x ${single.entries} entries, lateness max`,
      unit: 'ms',
      taskq: single.max,
      target: `<= ${single.targetMaxMs} ms`,
      pass: single.max <= single.targetMaxMs,
    });
    checks.push({
      id: 'scheduler-commands',
      what: 'periodic: Redis cmds per fired task',
      unit: 'cmds',
      taskq: single.commandsPerTask,
      target: `<= ${single.targetCommandsPerTask}`,
      pass: single.commandsPerTask <= single.targetCommandsPerTask,
    });
  }
  if (workflow && 'chordMs' in workflow) checks.push(...workflowChecks(workflow));

  const stripSamples = (rs: unknown[] | undefined): unknown[] | undefined =>
    rs?.map((r) => {
      const { samplesMs: _drop, ...rest } = r as LatencyResult;
      return rest;
    });
  return {
    env,
    checks,
    pairedRatios: {
      throughputCore: pairedRatio(tpRounds('taskq'), tpRounds('bullmq')),
      throughputNest: pairedRatio(tpRounds('nest'), tpRounds('bullmq')),
      throughputNestVsCore: pairedRatio(tpRounds('nest'), tpRounds('taskq')),
      enqueueBulk: pairedRatio(enqRounds('taskq', 'bulk'), enqRounds('bullmq', 'bulk')),
      enqueueSingle: pairedRatio(enqRounds('taskq', 'single'), enqRounds('bullmq', 'single')),
      latencyP99: p99Ratio,
      inmemoryDrain: pairedRatio(inmemoryRounds('memory'), inmemoryRounds('taskq')),
    },
    summary: {
      throughput: tp,
      enqueueBulk: enqBulk,
      enqueueSingle: enqSingle,
      latency: lat,
      delayed,
      idle,
      memory,
      inmemory,
      kitDrain,
    },
    rounds: {
      throughput: raw.throughput,
      enqueue: raw.enqueue,
      inmemory: raw.inmemory,
      latency: { taskq: stripSamples(raw.latency.taskq), bullmq: stripSamples(raw.latency.bullmq) },
    },
    scheduler,
    workflow,
    profile,
  };
}

export type Report = ReturnType<typeof buildReport>;

function fmt(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Prints the checks as an aligned table on stdout. */
export function printTable(report: Report): void {
  const header = ['workload', 'unit', 'taskq', 'nest', 'BullMQ', 'memory', 'ratio', 'target', 'result'];
  const rows = report.checks.map((c) => [
    c.what,
    c.unit,
    fmt(c.taskq),
    fmt(c.nest),
    fmt(c.bullmq),
    fmt(c.memory),
    c.ratio === undefined ? '' : `${fmt(c.ratio)}x`,
    c.target,
    c.pass === null ? (c.target === 'info' ? '' : 'n/a') : c.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === 0 || i === 1 || i === 7 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  const failed = report.checks.filter((c) => c.pass === false).map((c) => c.id);
  const passed = report.checks.filter((c) => c.pass === true).length;
  out.push('', `targets: ${passed} PASS, ${failed.length} FAIL${failed.length ? ` (FAIL: ${failed.join(', ')})` : ''}`);
  const p = report.pairedRatios;
  out.push(
    `median of per-round ratios: throughput core ${fmt(p.throughputCore)}x, nest ${fmt(p.throughputNest)}x, nest/core ${fmt(p.throughputNestVsCore)}x, ` +
      `enqueueMany ${fmt(p.enqueueBulk)}x, enqueue ${fmt(p.enqueueSingle)}x, memory:// drain / Redis ${fmt(p.inmemoryDrain)}x`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}
