import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './connection.js';

/**
 * The Lua scripts, one per state transition; each file starts with a header naming its KEYS, ARGV and return value.
 * They are the source of truth in `scripts/*.lua` and are registered with ioredis `defineCommand` (EVALSHA with an
 * automatic EVAL fallback after a server restart flushed the script cache). Fragments shared by several scripts live
 * in `scripts/includes/*.lua` and are pulled in at load time by a line `--- @include "name"` (BullMQ's
 * `commands/includes/`); each fragment is included once per script.
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
  'workflow-create',
  'workflow-advance',
  'workflow-claim',
  'workflow-dispatched',
  'workflow-cancel',
  'workflow-outcome',
  'checkpoint',
] as const;

/** The name of one script. */
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** A value passed in ARGV. */
export type ScriptArg = string | number;

/** Bumped when any script changes incompatibly, so old and new processes never share a command name. */
const SCRIPT_VERSION = 5;

const commandName = (name: ScriptName): string => `taskq_${name.replace(/-/g, '_')}_v${SCRIPT_VERSION}`;

const INCLUDE = /^--- @include "([a-z0-9-]+)"\s*$/gm;
const sourceCache = new Map<ScriptName, string>();

function readScript(relative: string): string {
  return readFileSync(new URL(`./scripts/${relative}.lua`, import.meta.url), 'utf8');
}

/** Replaces include lines by the fragments' sources (recursively, each fragment once). */
function expandIncludes(source: string, included: Set<string>): string {
  return source.replace(INCLUDE, (_line, fragment: string) => {
    if (included.has(fragment)) return '';
    included.add(fragment);
    return expandIncludes(readScript(`includes/${fragment}`), included);
  });
}

/** A script's source with its includes expanded (cached): what Redis runs. */
export function scriptSource(name: ScriptName): string {
  let source = sourceCache.get(name);
  if (source === undefined) {
    source = expandIncludes(readScript(name), new Set());
    sourceCache.set(name, source);
  }
  return source;
}

type ScriptFn = (...args: ScriptArg[]) => Promise<unknown>;
type PipelineScriptFn = (...args: ScriptArg[]) => ChainableCommander;

/** Observes every script call (name and KEYS); tests use it to check that each call touches one cluster slot. */
export type ScriptCallObserver = (name: ScriptName, keys: readonly string[]) => void;
let observer: ScriptCallObserver | undefined;

/** Installs (or removes, with `undefined`) the process-wide script call observer. For tests. */
export function observeScriptCalls(next: ScriptCallObserver | undefined): void {
  observer = next;
}

/** KEYS and ARGV of one script call. */
export interface ScriptCall {
  keys: string[];
  args: ScriptArg[];
}

/**
 * One script in the typed table (script-table.ts): how a call's KEYS and ARGV are built from typed parameters, and
 * how its raw reply is read.
 */
export interface ScriptDef<P, R> {
  readonly name: ScriptName;
  build(params: P): ScriptCall;
  decode(reply: unknown): R;
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

  /** Runs a script of the table and resolves with its decoded reply. */
  async run<P, R>(def: ScriptDef<P, R>, params: P): Promise<R> {
    const { keys, args } = def.build(params);
    observer?.(def.name, keys);
    const fn = (this.client as unknown as Record<string, ScriptFn>)[commandName(def.name)];
    return def.decode(await fn.call(this.client, keys.length, ...keys, ...args));
  }

  /** Queues a script call on a pipeline (one round trip for many calls); decode its reply with `def.decode`. */
  queue<P, R>(pipeline: ChainableCommander, def: ScriptDef<P, R>, params: P): void {
    const { keys, args } = def.build(params);
    observer?.(def.name, keys);
    const fn = (pipeline as unknown as Record<string, PipelineScriptFn>)[commandName(def.name)];
    fn.call(pipeline, keys.length, ...keys, ...args);
  }
}
