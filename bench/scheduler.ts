/**
 * Periodic tasks benchmark. Two measurements against a private redis-server:
 *  - `multi`: 3 schedulers (3 processes) race on 100 entries ticking every second (half `@every 1s`, half
 *    `* * * * * *`): tick lateness (fire time → the winning scheduler's script reply) p50/p99/max, and that every
 *    tick enqueued exactly one task (target: p99 ≤ 50 ms).
 *  - `single`: 1 scheduler, 10,000 entries `@every 1s`: lateness max (target ≤ 200 ms: it keeps up) and Redis
 *    commands per fired task from INFO commandstats deltas after CONFIG RESETSTAT, counting the commands run inside
 *    scripts (target ≤ 3).
 *
 * Standalone: `npm run build:dev && node dist-dev/bench/scheduler.js` (prints JSON). Env: BENCH_QUICK=1 (shorter),
 * BENCH_REDIS_URL (use that server instead of starting one; its commandstats are reset).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { decodeMessage } from '../lib/core/broker/codec.js';
import { QueueKeys } from '../lib/core/broker/redis/keys.js';
import { TaskScheduler, type PeriodicEntryInput } from '../lib/core/index.js';
import { commandDelta, round, ServerProbe, startBenchRedis, type CommandDelta } from './redis.js';
import { percentile } from './stats.js';

/** Parameters of the scheduler benchmark. */
export interface SchedulerBenchParams {
  /** Entries in the 3-scheduler run. @defaultValue 100 */
  multiEntries: number;
  /** Schedulers (processes) in the multi run. @defaultValue 3 */
  multiSchedulers: number;
  /** Entries in the 1-scheduler run. @defaultValue 10000 */
  singleEntries: number;
  /** Measured seconds per run (after a 2 s warm-up). @defaultValue 10 (5 with BENCH_QUICK=1) */
  seconds: number;
}

/** Lateness summary in ms. */
export interface LatenessSummary {
  fired: number;
  p50: number;
  p99: number;
  max: number;
}

/** What the scheduler benchmark measured. */
export interface SchedulerBenchResult {
  multi: LatenessSummary & {
    schedulers: number;
    entries: number;
    /** Ticks expected in the window (entries × ticks). */
    expectedTicks: number;
    /** Tasks in Redis for ticks in the window. */
    tasks: number;
    /** Fire times enqueued more than once (must be 0). */
    duplicates: number;
    /** Ticks per scheduler won. */
    winsPerScheduler: number[];
    targetP99Ms: 50;
    pass: boolean;
  };
  single: LatenessSummary & {
    entries: number;
    expectedTicks: number;
    tasks: number;
    commandsPerTask: number;
    scriptCallsPerTask: number;
    byCommand: CommandDelta['byCommand'];
    registerMs: number;
    /** The latest fire of each tick in the window (ms): shows whether lateness is steady or a spike. */
    maxPerTick: number[];
    targetMaxMs: 200;
    targetCommandsPerTask: 3;
    pass: boolean;
  };
}

const QUICK = process.env.BENCH_QUICK === '1';
export const DEFAULT_SCHEDULER_PARAMS: SchedulerBenchParams = {
  multiEntries: 100,
  multiSchedulers: 3,
  singleEntries: 10_000,
  seconds: QUICK ? 5 : 10,
};
const WARMUP_MS = 2_000;
const CHILD = fileURLToPath(new URL('./scheduler-child.js', import.meta.url));

/** tsc does not copy the Lua scripts next to the compiled engine: do it when they are missing. */
function ensureCompiledScripts(): void {
  const compiled = fileURLToPath(new URL('../lib/core/broker/redis/scripts/', import.meta.url));
  const source = resolve('lib/core/broker/redis/scripts');
  if (!existsSync(source) || resolve(compiled) === source) return;
  cpSync(source, compiled, { recursive: true });
}

interface Child {
  proc: ChildProcess;
  report(from: number, to: number): Promise<{ fires: number[]; lateness: number[]; errors: string[] }>;
  stop(): Promise<void>;
}

async function spawnChild(url: string, prefix: string): Promise<Child> {
  const proc = fork(CHILD, [], {
    env: { ...process.env, REDIS_URL: url, TASKQ_PREFIX: prefix },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await new Promise<void>((resolveReady, reject) => {
    proc.once('exit', (code) => reject(new Error(`scheduler child exited with ${code}`)));
    proc.on('message', (m: { type: string }) => {
      if (m.type === 'ready') resolveReady();
    });
  });
  return {
    proc,
    report: (from, to) =>
      new Promise((r) => {
        const onMessage = (m: { type: string; fires: number[]; lateness: number[]; errors: string[] }) => {
          if (m.type !== 'report') return;
          proc.off('message', onMessage);
          r(m);
        };
        proc.on('message', onMessage);
        proc.send({ type: 'report', from, to });
      }),
    stop: async () => {
      if (proc.exitCode === null) proc.send({ type: 'stop' });
      await exited;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function summarize(lateness: number[]): LatenessSummary {
  return {
    fired: lateness.length,
    p50: round(percentile(lateness, 50), 1),
    p99: round(percentile(lateness, 99), 1),
    max: lateness.length ? Math.max(...lateness) : Number.NaN,
  };
}

function maxPerTick(fires: number[], lateness: number[]): number[] {
  const worst = new Map<number, number>();
  fires.forEach((t, i) => worst.set(t, Math.max(worst.get(t) ?? 0, lateness[i]!)));
  return [...worst.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** Tasks in the queue per fire time (ms) for fire times in [from, to). */
async function tasksByTick(
  redis: Redis,
  prefix: string,
  from: number,
  to: number,
): Promise<{ tasks: number; duplicates: number }> {
  const keys = new QueueKeys(prefix, 'default');
  const seen = new Set<string>();
  let tasks = 0;
  let duplicates = 0;
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscan(keys.tasks, cursor, 'COUNT', 5000);
    cursor = next;
    for (let i = 1; i < flat.length; i += 2) {
      const h = decodeMessage(flat[i]!).headers;
      const fire = Date.parse(h['taskq-fire-time']!);
      if (fire < from || fire >= to) continue;
      const key = `${h['taskq-periodic-id']}@${fire}`;
      if (seen.has(key)) duplicates++;
      seen.add(key);
      tasks++;
    }
  } while (cursor !== '0');
  return { tasks, duplicates };
}

/** Waits until the next whole second plus `ms`. */
async function alignToSecond(ms = 0): Promise<number> {
  const target = Math.ceil(Date.now() / 1000) * 1000 + ms;
  await sleep(target - Date.now());
  return target - ms;
}

async function runMulti(url: string, params: SchedulerBenchParams): Promise<SchedulerBenchResult['multi']> {
  const prefix = `bench-sched-multi-${process.pid}`;
  const redis = new Redis(url);
  const admin = new TaskScheduler({ connection: url, prefix });
  const entries: PeriodicEntryInput[] = Array.from({ length: params.multiEntries }, (_, i) => ({
    cronspec: i % 2 === 0 ? '@every 1s' : '* * * * * *',
    type: 'bench:tick',
    payload: { i },
    options: { id: `e${i}` },
  }));
  await admin.sync('bench', entries);
  const children = await Promise.all(Array.from({ length: params.multiSchedulers }, () => spawnChild(url, prefix)));
  try {
    await sleep(WARMUP_MS);
    const from = await alignToSecond();
    const to = from + params.seconds * 1000;
    await sleep(to - Date.now() + 500);
    const reports = await Promise.all(children.map((c) => c.report(from, to)));
    const lateness = reports.flatMap((r) => r.lateness);
    const { tasks, duplicates } = await tasksByTick(redis, prefix, from, to);
    const expectedTicks = params.multiEntries * params.seconds;
    const summary = summarize(lateness);
    return {
      ...summary,
      schedulers: params.multiSchedulers,
      entries: params.multiEntries,
      expectedTicks,
      tasks,
      duplicates,
      winsPerScheduler: reports.map((r) => r.fires.length),
      targetP99Ms: 50,
      pass: summary.p99 <= 50 && tasks === expectedTicks && duplicates === 0 && lateness.length === expectedTicks,
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await admin.sync('bench', []);
    await admin.shutdown();
    await unlinkPrefix(redis, prefix);
    redis.disconnect();
  }
}

async function runSingle(url: string, params: SchedulerBenchParams): Promise<SchedulerBenchResult['single']> {
  const prefix = `bench-sched-single-${process.pid}`;
  const redis = new Redis(url);
  const probe = new ServerProbe(url);
  const admin = new TaskScheduler({ connection: url, prefix });
  const entries: PeriodicEntryInput[] = Array.from({ length: params.singleEntries }, (_, i) => ({
    cronspec: '@every 1s',
    type: 'bench:tick',
    payload: { i },
    options: { id: `e${i}` },
  }));
  const t0 = performance.now();
  await admin.sync('bench', entries);
  const registerMs = Math.round(performance.now() - t0);
  const child = await spawnChild(url, prefix);
  try {
    await sleep(WARMUP_MS);
    // Reset just after a tick's burst and read just after the last one: the window holds `seconds` bursts.
    const from = await alignToSecond(500);
    await probe.resetStats();
    const before = await probe.snapshot();
    const to = from + params.seconds * 1000;
    await sleep(to + 500 - Date.now());
    const after = await probe.snapshot();
    const report = await child.report(from + 1, to + 1);
    const { tasks } = await tasksByTick(redis, prefix, from + 1, to + 1);
    const delta = commandDelta(before, after, Math.max(1, report.fires.length));
    const summary = summarize(report.lateness);
    const expectedTicks = params.singleEntries * params.seconds;
    return {
      ...summary,
      entries: params.singleEntries,
      expectedTicks,
      tasks,
      commandsPerTask: delta.total,
      scriptCallsPerTask: delta.scripts,
      byCommand: delta.byCommand,
      registerMs,
      maxPerTick: maxPerTick(report.fires, report.lateness),
      targetMaxMs: 200,
      targetCommandsPerTask: 3,
      pass: summary.max <= 200 && delta.total <= 3 && tasks === expectedTicks && report.fires.length === expectedTicks,
    };
  } finally {
    await child.stop();
    await admin.sync('bench', []);
    await admin.shutdown();
    await probe.close();
    await unlinkPrefix(redis, prefix);
    redis.disconnect();
  }
}

async function unlinkPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/**
 * Runs both measurements against `url` (or a private redis-server started and stopped here).
 * The single-scheduler run resets the server's commandstats (CONFIG RESETSTAT).
 */
export async function schedulerBench(
  options: { url?: string; params?: Partial<SchedulerBenchParams> } = {},
): Promise<SchedulerBenchResult> {
  ensureCompiledScripts();
  const params = { ...DEFAULT_SCHEDULER_PARAMS, ...options.params };
  const server = options.url ? undefined : await startBenchRedis();
  const url = options.url ?? server!.url;
  try {
    const only = process.env.BENCH_SCHEDULER_ONLY;
    const multi = only === 'single' ? undefined : await runMulti(url, params);
    const single = only === 'multi' ? undefined : await runSingle(url, params);
    return { multi, single } as SchedulerBenchResult;
  } finally {
    await server?.stop();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await schedulerBench({ url: process.env.BENCH_REDIS_URL });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
