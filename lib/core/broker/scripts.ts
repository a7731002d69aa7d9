import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../connection.js';

/**
 * The Lua scripts, one per state transition; each file starts with a header naming its KEYS, ARGV and return value.
 * They are the source of truth in `scripts/*.lua` and are registered with ioredis `defineCommand` (EVALSHA with an
 * automatic EVAL fallback after a server restart flushed the script cache).
 */
export const SCRIPT_NAMES = [
  'enqueue',
  'dequeue',
  'complete',
  'retry',
  'archive',
  'requeue',
  'extend-lease',
  'forward',
  'recover',
  'cancel',
  'janitor',
  'run-task',
  'archive-task',
  'delete-task',
  'task-info',
  'pause',
  'unpause',
  'scheduler-tick',
  'scheduler-upsert',
  'scheduler-remove',
] as const;

/** The name of one script. */
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** A value passed in ARGV. */
export type ScriptArg = string | number;

/** Bumped when any script changes incompatibly, so old and new processes never share a command name. */
const SCRIPT_VERSION = 2;

const commandName = (name: ScriptName): string => `taskq_${name.replace(/-/g, '_')}_v${SCRIPT_VERSION}`;

const sourceCache = new Map<ScriptName, string>();

/** Reads a script's source (cached). */
export function scriptSource(name: ScriptName): string {
  let source = sourceCache.get(name);
  if (source === undefined) {
    source = readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');
    sourceCache.set(name, source);
  }
  return source;
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;
type PipelineScriptFn = (...args: (string | number)[]) => ChainableCommander;

/** Observes every script call (name and KEYS); tests use it to check that each call touches one cluster slot. */
export type ScriptCallObserver = (name: ScriptName, keys: readonly string[]) => void;
let observer: ScriptCallObserver | undefined;

/** Installs (or removes, with `undefined`) the process-wide script call observer. For tests. */
export function observeScriptCalls(next: ScriptCallObserver | undefined): void {
  observer = next;
}

const defined = new WeakSet<object>();

/** Runs the scripts on one client; every key a script touches is passed in KEYS. */
export class ScriptRunner {
  constructor(private readonly client: RedisClient) {
    if (!defined.has(client)) {
      for (const name of SCRIPT_NAMES) client.defineCommand(commandName(name), { lua: scriptSource(name) });
      defined.add(client);
    }
  }

  /** Runs `name` with `keys` and `args` and resolves with its raw reply. */
  run(name: ScriptName, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    observer?.(name, keys);
    const fn = (this.client as unknown as Record<string, ScriptFn>)[commandName(name)];
    return fn.call(this.client, keys.length, ...keys, ...args);
  }

  /** Queues `name` on a pipeline (one round trip for many calls). */
  queue(pipeline: ChainableCommander, name: ScriptName, keys: readonly string[], args: readonly ScriptArg[]): void {
    observer?.(name, keys);
    const fn = (pipeline as unknown as Record<string, PipelineScriptFn>)[commandName(name)];
    fn.call(pipeline, keys.length, ...keys, ...args);
  }
}
