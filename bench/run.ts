/**
 * `npm run bench`: the same workloads through nestjs-taskq (core worker and Nest transport) and BullMQ 6, against a
 * private redis-server started here, libraries interleaved (ABBA) over several rounds after a discarded warm-up
 * round, each measurement in its own Node process. Prints the JSON (also written to .bench-out/last.json) and a table
 * with the ratios and targets. Exit code 0 even when a target fails; non-zero only when the bench itself breaks.
 *
 * Environment: BENCH_ROUNDS (measured rounds, default 7), BENCH_QUICK=1 (smaller, ~2 min; full run ~8 min), BENCH_PIN=0 (no taskset),
 * BENCH_LIBS=taskq,bullmq (subset), BENCH_ONLY=throughput,enqueue,inmemory,workflow,... (subset of workloads), BENCH_PROFILE=1 (also
 * a --cpu-prof run of the taskq drain, summarised).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LibName } from './adapters/types.js';
import type { ChildSpec, WorkloadName } from './child.js';
import { summarizeProfile, type ProfileSummary } from './profile.js';
import { hasTaskset, ServerProbe, startBenchRedis, type BenchRedis } from './redis.js';
import { buildReport, printTable, type RawResults } from './report.js';
import { schedulerBench, type SchedulerBenchResult } from './scheduler.js';
import { workflowBench, type WorkflowBenchResult } from './workflow.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 2 : 7));
const PIN = process.env.BENCH_PIN !== '0' && cpus().length >= 2 && hasTaskset();
const LIBS = new Set((process.env.BENCH_LIBS ?? 'taskq,nest,bullmq').split(',').map((s) => s.trim()) as LibName[]);
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : undefined;
/** BENCH_PROFILE=1 profiles the taskq and nest drains; or a list, e.g. BENCH_PROFILE=nest. */
const PROFILE: LibName[] =
  !process.env.BENCH_PROFILE || process.env.BENCH_PROFILE === '0'
    ? []
    : process.env.BENCH_PROFILE === '1'
      ? ['taskq', 'nest']
      : (process.env.BENCH_PROFILE.split(',').map((x) => x.trim()) as LibName[]);
const OUT_DIR = join(process.cwd(), '.bench-out');
const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

export const PARAMS = {
  throughput: { tasks: QUICK ? 10_000 : 20_000, concurrency: 100, warmup: 2_000, batch: 1_000 },
  enqueue: {
    bulkTasks: QUICK ? 10_000 : 20_000,
    batch: 1_000,
    singleTasks: QUICK ? 5_000 : 10_000,
    inFlight: 100,
  },
  // Cold window: the first 800 tasks after a 200-task warm-up (JIT still compiling, reported); measured window: 1500
  // tasks once 3000 have run (perf.md §5: a warm-up excludes the JIT). Nine short rounds rather than a few long ones:
  // this machine has bursts of scheduling noise lasting seconds, and the gate takes the median of per-round ratios.
  latency: QUICK
    ? { warmup: 100, coldSamples: 300, settle: 2_600, samples: 500, concurrency: 100, gapMs: 2 }
    : { warmup: 200, coldSamples: 800, settle: 2_000, samples: 1_500, concurrency: 100, gapMs: 2 },
  latencyRounds: QUICK ? 1 : 9,
  delayed: {
    warmup: 20,
    samples: QUICK ? 150 : 300,
    spacingMs: 10,
    minDelayMs: 200,
    maxDelayMs: 700,
    concurrency: 100,
    seed: 42,
  },
  delayedRounds: QUICK ? 1 : 3,
  idle: { seconds: QUICK ? 5 : 12, concurrency: 100 },
  memory: { tasks: QUICK ? 20_000 : 50_000, batch: 1_000 },
  // The in-memory backend against Redis: the throughput drain at 20k tasks in either mode (the target's figure).
  inmemory: { tasks: 20_000, concurrency: 100, warmup: 20_000, batch: 1_000 },
  kitDrain: { tasks: 1_000, warmRounds: QUICK ? 3 : 5 },
};

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function wanted(workload: string): boolean {
  return !ONLY || ONLY.has(workload);
}

/** CPU jiffies (total, steal) from /proc/stat, to report steal time over the run. */
function cpuJiffies(): { total: number; steal: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return undefined;
  }
}

function gitDescribe(): string {
  const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'lib'], { encoding: 'utf8' }).stdout?.trim();
  return dirty ? `${rev} (lib/ has uncommitted changes)` : rev;
}

/** Runs one measurement in a fresh Node process (pinned to CPU 1 when pinning is on) on a flushed server. */
async function runChild(probe: ServerProbe, spec: ChildSpec): Promise<unknown> {
  await probe.flushAll();
  const resultFile = join(
    tmpdir(),
    `taskq-bench-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`,
  );
  const nodeArgs = [CHILD, JSON.stringify(spec), resultFile];
  const [cmd, args] = PIN ? ['taskset', ['-c', '1', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const started = Date.now();
  const load = Math.round(loadavg()[0]! * 100) / 100;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${spec.lib} ${spec.workload}: timed out after 240 s`));
    }, 240_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  if (!existsSync(resultFile)) throw new Error(`${spec.lib} ${spec.workload}: the child process wrote no result`);
  const out = JSON.parse(readFileSync(resultFile, 'utf8')) as {
    ok: boolean;
    result?: unknown;
    error?: string;
  };
  rmSync(resultFile, { force: true });
  if (!out.ok) throw new Error(`${spec.lib} ${spec.workload} failed:\n${out.error}`);
  log(
    `  ${spec.workload.padEnd(10)} ${spec.lib.padEnd(6)} round ${spec.round}: done in ${((Date.now() - started) / 1000).toFixed(1)} s (load ${load})`,
  );
  return { ...(out.result as object), loadavg1: load };
}

/** ABBA: even rounds in the given order, odd rounds reversed. */
function order<T>(items: T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

async function runScheduler(redis: BenchRedis, probe: ServerProbe): Promise<SchedulerBenchResult> {
  await probe.flushAll();
  log('  scheduler: bench/scheduler.ts (3 schedulers x 100 entries, then 1 scheduler x 10k entries)');
  return schedulerBench({ url: redis.url });
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = Date.now();
  mkdirSync(OUT_DIR, { recursive: true });
  const jiffies0 = cpuJiffies();
  const load0 = loadavg();
  const redis = await startBenchRedis({ cpu: PIN ? 0 : undefined });
  const probe = new ServerProbe(redis.url);
  log(
    `redis-server ${redis.version} on ${redis.url}${PIN ? ' pinned to CPU 0, Node workers to CPU 1' : ' (not pinned)'}; ${ROUNDS} rounds + 1 warm-up${QUICK ? ', quick' : ''}`,
  );
  const raw: RawResults = {
    throughput: {},
    enqueue: {},
    latency: {},
    delayed: {},
    idle: {},
    memory: {},
    inmemory: {},
    kitDrain: [],
  };
  const push = (bucket: Record<string, unknown[]>, lib: LibName, value: unknown): void => {
    (bucket[lib] ??= []).push(value);
  };
  let scheduler: SchedulerBenchResult | { error: string } | undefined;
  let workflow: WorkflowBenchResult | { error: string } | undefined;
  const profile: Partial<Record<LibName, ProfileSummary | { error: string }>> = {};
  try {
    const tpLibs = (['taskq', 'nest', 'bullmq'] as LibName[]).filter((l) => LIBS.has(l));
    const coreLibs = (['taskq', 'bullmq'] as LibName[]).filter((l) => LIBS.has(l));
    const child = (lib: LibName, workload: WorkloadName, round: number, params: unknown): Promise<unknown> =>
      runChild(probe, { lib, workload, url: redis.url, round, params });

    for (let round = 0; round <= ROUNDS; round++) {
      log(round === 0 ? 'warm-up round (discarded)' : `round ${round}/${ROUNDS}`);
      if (wanted('throughput')) {
        for (const lib of order(tpLibs, round)) {
          const r = await child(lib, 'throughput', round, PARAMS.throughput);
          if (round > 0) push(raw.throughput, lib, r);
        }
      }
      if (wanted('enqueue')) {
        for (const lib of order(coreLibs, round)) {
          const r = await child(lib, 'enqueue', round, PARAMS.enqueue);
          if (round > 0) push(raw.enqueue, lib, r);
        }
      }
      if (wanted('inmemory')) {
        // The same core drain on both backends; BENCH_LIBS does not apply (the comparison is the point).
        for (const lib of order(['taskq', 'memory'] as LibName[], round)) {
          const r = await child(lib, 'throughput', round, PARAMS.inmemory);
          if (round > 0) push(raw.inmemory, lib, r);
        }
      }
    }
    if (wanted('inmemory')) raw.kitDrain.push(await child('memory', 'kitdrain', 1, PARAMS.kitDrain));
    if (wanted('latency')) {
      for (let round = 1; round <= PARAMS.latencyRounds; round++) {
        for (const lib of order(coreLibs, round))
          push(raw.latency, lib, await child(lib, 'latency', round, PARAMS.latency));
      }
    }
    if (wanted('delayed')) {
      for (let round = 1; round <= PARAMS.delayedRounds; round++) {
        for (const lib of order(coreLibs, round))
          push(raw.delayed, lib, await child(lib, 'delayed', round, PARAMS.delayed));
      }
    }
    if (wanted('idle')) for (const lib of coreLibs) push(raw.idle, lib, await child(lib, 'idle', 1, PARAMS.idle));
    if (wanted('memory'))
      for (const lib of coreLibs) push(raw.memory, lib, await child(lib, 'memory', 1, PARAMS.memory));
    if (wanted('scheduler')) {
      try {
        scheduler = await runScheduler(redis, probe);
      } catch (err) {
        scheduler = { error: err instanceof Error ? err.message : String(err) };
      }
    }
    if (wanted('workflow')) {
      log('  workflow: bench/workflow.ts (chord vs plain vs BullMQ FlowProducer, completion latency, memory)');
      try {
        workflow = await workflowBench({ url: redis.url, cpu: PIN ? 1 : undefined, log });
      } catch (err) {
        workflow = { error: err instanceof Error ? err.message : String(err) };
      }
    }
    for (const lib of PROFILE) {
      const file = join(OUT_DIR, `profile-${lib}.cpuprofile`);
      rmSync(file, { force: true });
      log(`profiling the timed part of the ${lib} drain (${file})`);
      try {
        await runChild(probe, {
          lib,
          workload: 'throughput',
          url: redis.url,
          round: 99,
          params: PARAMS.throughput,
          profileFile: file,
        });
        profile[lib] = existsSync(file) ? summarizeProfile(file, 25) : { error: 'no profile written' };
      } catch (err) {
        profile[lib] = { error: err instanceof Error ? err.message : String(err) };
      }
    }
  } finally {
    await probe.close();
    await redis.stop();
  }
  const jiffies1 = cpuJiffies();
  const stealPercent =
    jiffies0 && jiffies1 && jiffies1.total > jiffies0.total
      ? Math.round((1000 * (jiffies1.steal - jiffies0.steal)) / (jiffies1.total - jiffies0.total)) / 10
      : undefined;
  const env = {
    startedAt: startedAt.toISOString(),
    durationSec: Math.round((Date.now() - t0) / 1000),
    commit: gitDescribe(),
    node: process.version,
    redis: redis.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    pinned: PIN ? 'redis-server on CPU 0, each measurement process on CPU 1 (taskset)' : 'no',
    loadavgAtStart: load0.map((v) => Math.round(v * 100) / 100),
    loadavgAtEnd: loadavg().map((v) => Math.round(v * 100) / 100),
    stealPercent,
    rounds: ROUNDS,
    quick: QUICK,
    params: PARAMS,
  };
  const report = buildReport(env, raw, scheduler, PROFILE.length ? profile : undefined, workflow);
  const json = JSON.stringify(report, null, 2);
  writeFileSync(join(OUT_DIR, 'last.json'), json);
  process.stdout.write(`${json}\n\n`);
  printTable(report);
  log(`done in ${env.durationSec} s; JSON written to .bench-out/last.json`);
}

main().catch((err: unknown) => {
  console.error('[bench] crashed:', err);
  process.exit(1);
});
