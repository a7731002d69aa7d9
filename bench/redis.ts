/**
 * The benchmark's private redis-server (persistence off, loopback, a free port) and the server-side counters the
 * workloads read: INFO commandstats (commands per task, including the ones run inside scripts), memory and the
 * main thread's CPU time.
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { spawnRedisServer } from '../tools/redis-process.js';
import { round } from './stats.js';

export { round };

export interface BenchRedis {
  readonly port: number;
  readonly url: string;
  readonly version: string;
  /** The CPU the server is pinned to, when `taskset` is available and pinning is on. */
  readonly cpu?: number;
  stop(): Promise<void>;
}

/** True when `taskset` can be used to pin processes to a CPU. */
export function hasTaskset(): boolean {
  try {
    return spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
}

/**
 * Starts a private redis-server on a free loopback port with persistence off, pinned to `cpu` when given (taskset).
 * Fails with a clear message when redis-server is not installed.
 */
export async function startBenchRedis(options: { cpu?: number } = {}): Promise<BenchRedis> {
  const server = await spawnRedisServer({ cpu: options.cpu });
  return { port: server.port, url: server.url, version: server.version, cpu: options.cpu, stop: () => server.stop() };
}

/** Parses an INFO reply into key → value. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** Calls per command name (lower case), from INFO commandstats. */
export type CommandCounts = Record<string, number>;

/**
 * Commands the measuring connection itself sends (and nothing else in the benchmark sends them in a measured
 * window); they are left out of every count.
 */
const MEASUREMENT_COMMANDS = new Set(['info', 'config|resetstat', 'config', 'memory|usage', 'dbsize']);

/** Script invocations (top-level): everything else in a count may have run inside one of these. */
const SCRIPT_COMMANDS = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall', 'fcall_ro']);

/** A snapshot of the server-side counters. */
export interface ServerSnapshot {
  commands: CommandCounts;
  /** Microseconds spent executing, per command name (a script's usec includes the commands run inside it). */
  usec: CommandCounts;
  /** used_cpu_user_main_thread + used_cpu_sys_main_thread, in µs (falls back to used_cpu_user+sys). */
  cpuMicros: number;
  usedMemory: number;
  netInputBytes: number;
  netOutputBytes: number;
}

/** A connection used only to measure (its own INFO/CONFIG calls are excluded from the counts). */
export class ServerProbe {
  readonly redis: Redis;
  /** Counted commands this probe sent itself (subtracted from every snapshot). */
  private readonly own: CommandCounts = {};

  constructor(readonly url: string) {
    this.redis = new Redis(url, { maxRetriesPerRequest: null, connectionName: 'bench:probe' });
  }

  /** CONFIG RESETSTAT: zeroes commandstats and the stats counters (not CPU or memory). */
  async resetStats(): Promise<void> {
    await this.redis.config('RESETSTAT');
    for (const key of Object.keys(this.own)) delete this.own[key];
  }

  /** EXISTS over `keys` (the count of keys that exist); not counted against the library. */
  async exists(...keys: string[]): Promise<number> {
    this.own.exists = (this.own.exists ?? 0) + 1;
    return this.redis.exists(...keys);
  }

  async flushAll(): Promise<void> {
    await this.redis.flushall();
  }

  async snapshot(): Promise<ServerSnapshot> {
    const info = parseInfo(await this.redis.info('all'));
    const commands: CommandCounts = {};
    const usec: CommandCounts = {};
    for (const [key, value] of info) {
      if (!key.startsWith('cmdstat_')) continue;
      const name = key.slice('cmdstat_'.length);
      if (MEASUREMENT_COMMANDS.has(name)) continue;
      const calls = /calls=(\d+)/.exec(value);
      if (calls) commands[name] = Number(calls[1]) - (this.own[name] ?? 0);
      const us = /usec=(\d+)/.exec(value);
      if (us) usec[name] = Number(us[1]);
    }
    const num = (k: string): number => Number(info.get(k) ?? 0);
    const mainCpu = num('used_cpu_user_main_thread') + num('used_cpu_sys_main_thread');
    const cpu = mainCpu > 0 ? mainCpu : num('used_cpu_user') + num('used_cpu_sys');
    return {
      commands,
      usec,
      cpuMicros: Math.round(cpu * 1e6),
      usedMemory: num('used_memory'),
      netInputBytes: num('total_net_input_bytes'),
      netOutputBytes: num('total_net_output_bytes'),
    };
  }

  async usedMemory(): Promise<number> {
    const info = parseInfo(await this.redis.info('memory'));
    return Number(info.get('used_memory') ?? 0);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Counters between two snapshots, per task when `perTask` is given. */
export interface CommandDelta {
  /** All command executions, including those run inside scripts. */
  total: number;
  /** Top-level script calls (EVALSHA/EVAL/FCALL). */
  scripts: number;
  /** Executions per command name. */
  byCommand: CommandCounts;
  /** Server time executing script calls (EVALSHA/EVAL/FCALL, inner commands included), µs. */
  scriptUsec: number;
}

export function commandDelta(before: ServerSnapshot, after: ServerSnapshot, divisor = 1): CommandDelta {
  const byCommand: CommandCounts = {};
  let total = 0;
  let scripts = 0;
  let scriptUsec = 0;
  for (const name of SCRIPT_COMMANDS) scriptUsec += (after.usec[name] ?? 0) - (before.usec[name] ?? 0);
  for (const [name, calls] of Object.entries(after.commands)) {
    const d = calls - (before.commands[name] ?? 0);
    if (d <= 0) continue;
    byCommand[name] = round(d / divisor, 4);
    total += d;
    if (SCRIPT_COMMANDS.has(name)) scripts += d;
  }
  return {
    total: round(total / divisor, 4),
    scripts: round(scripts / divisor, 4),
    byCommand,
    scriptUsec: round(scriptUsec / divisor, 2),
  };
}
