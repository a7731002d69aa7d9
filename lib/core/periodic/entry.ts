import { createHash } from 'node:crypto';
import { parseOptionalDuration } from '../duration.js';
import { resolveEnqueueOptions, type EnqueueOptions } from '../enqueue-options.js';
import { InvalidOptionError } from '../errors.js';
import { validateTaskType } from '../options.js';
import type { PayloadCodec } from '../payload-codec.js';
import { checkEncodedSize, DEFAULT_MAX_PAYLOAD_SIZE } from '../producer-options.js';
import { DEFAULT_TZ, parseCronspec, type Schedule } from './cron.js';

/** What to do with ticks that every scheduler missed (all were down or stalled beyond `misfireGrace`). */
export type CatchUpPolicy = 'none' | 'last';

/**
 * Options of a periodic entry: the {@link EnqueueOptions} every fired task gets, plus the entry's identity and time
 * zone. `taskId`, `unique`, `deadline` and `processAt` make no sense for a task that fires again and again and are
 * rejected (each tick already fires exactly once); `processIn` delays every fired task by that much after its tick.
 */
export interface PeriodicOptions extends EnqueueOptions {
  /**
   * The entry id; registering the same id again updates the entry in place.
   * @defaultValue derived from (cronspec, type, payload, queue), so re-registering the same entry at every start is
   * idempotent and changing only its options (tz, maxRetry...) updates it
   */
  id?: string;
  /**
   * IANA time zone the cron fields are read in (DST handled by cron-parser). Ignored by `@every`.
   * @defaultValue `'UTC'`
   */
  tz?: string;
  /**
   * Ticks every scheduler missed (all down or stalled longer than `misfireGrace`): `'none'` skips them and the next
   * tick fires on time; `'last'` fires the most recent missed tick once on recovery.
   * @defaultValue `'none'`
   */
  catchUp?: CatchUpPolicy;
}

/** An entry as stored in Redis (`<prefix>:{<queue>}:cron`, JSON), options resolved. */
export interface EntryDefinition {
  /** Format version (1). */
  v: 1;
  id: string;
  spec: string;
  type: string;
  /** The payload after the payload codec's `encode`. */
  payload?: unknown;
  queue: string;
  tz: string;
  maxRetry: number;
  timeoutMs: number;
  retentionMs: number;
  processInMs: number;
  headers: Record<string, string>;
  catchUp: CatchUpPolicy;
  /** Set by `sync(source, …)`: the entries of one source are replaced together. */
  source?: string;
}

/** A validated entry ready to store: its definition, its stored form and its schedule. */
export interface ResolvedEntry {
  definition: EntryDefinition;
  json: string;
  schedule: Schedule;
}

const REJECTED_OPTIONS: Record<string, string> = {
  taskId: 'task ids are generated per tick; use `id` to name the periodic entry',
  unique: 'each tick already fires exactly once across all schedulers; a unique lock is not needed',
  deadline: 'an absolute deadline would apply to every future tick; use `timeout`',
  processAt: 'an absolute time cannot repeat; use the cronspec, or `processIn` to delay each fired task',
};

const PERIODIC_ONLY = new Set(['id', 'tz', 'catchUp']);

/** Validates an entry id: a non-empty string of at most 256 characters without whitespace. */
export function validateEntryId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || !/^\S{1,256}$/.test(id)) {
    throw new InvalidOptionError(
      field,
      `got ${JSON.stringify(id)}; an entry id is 1 to 256 characters without whitespace`,
    );
  }
  return id;
}

/** The default entry id: 16 base64url characters of SHA-256 over (cronspec, type, encoded payload, queue). */
export function defaultEntryId(spec: string, type: string, payloadJson: string, queue: string): string {
  return createHash('sha256')
    .update(JSON.stringify([spec, type, payloadJson, queue]))
    .digest('base64url')
    .slice(0, 16);
}

/** Validates a source name for `sync`. */
export function validateSource(source: unknown): string {
  if (typeof source !== 'string' || source.length === 0 || source.length > 256) {
    throw new InvalidOptionError(
      'source',
      `got ${JSON.stringify(source)}; expected a non-empty string of at most 256 characters`,
    );
  }
  return source;
}

/**
 * Validates a registration and builds the stored entry. Throws before anything is written.
 * @throws InvalidCronspecError for the spec; InvalidOptionError naming the field for everything else.
 */
export function resolvePeriodicEntry(
  cronspec: string,
  type: string,
  payload: unknown,
  options: PeriodicOptions | undefined,
  codec: PayloadCodec,
  now: number,
  source?: string,
  maxPayloadSize = DEFAULT_MAX_PAYLOAD_SIZE,
): ResolvedEntry {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null)
    throw new InvalidOptionError('options', 'expected an object of PeriodicOptions');
  const tz = o.tz ?? DEFAULT_TZ;
  const schedule = parseCronspec(cronspec, tz);
  validateTaskType(type);
  const enqueueOptions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    if (value === undefined || PERIODIC_ONLY.has(key)) continue;
    const why = REJECTED_OPTIONS[key];
    if (why !== undefined) throw new InvalidOptionError(key, `not allowed on a periodic entry: ${why}`);
    enqueueOptions[key] = value;
  }
  const resolved = resolveEnqueueOptions(enqueueOptions as EnqueueOptions, now);
  const processInMs = parseOptionalDuration(o.processIn, 'processIn') ?? 0;
  const catchUp = o.catchUp ?? 'none';
  if (catchUp !== 'none' && catchUp !== 'last') {
    throw new InvalidOptionError('catchUp', `got ${JSON.stringify(catchUp)}; expected 'none' or 'last'`);
  }
  let encodedPayload: unknown;
  let payloadJson: string | undefined;
  try {
    encodedPayload = codec.encode(payload);
    payloadJson = JSON.stringify(encodedPayload);
  } catch (err) {
    throw new InvalidOptionError('payload', `cannot be encoded (${(err as Error).message})`, { cause: err });
  }
  const spec = cronspec.trim();
  const id = o.id === undefined ? defaultEntryId(spec, type, payloadJson ?? '', resolved.queue) : validateEntryId(o.id);
  const definition: EntryDefinition = {
    v: 1,
    id,
    spec,
    type,
    payload: encodedPayload,
    queue: resolved.queue,
    tz,
    maxRetry: resolved.maxRetry,
    timeoutMs: resolved.timeoutMs,
    retentionMs: resolved.retentionMs,
    processInMs,
    headers: resolved.headers,
    catchUp,
  };
  if (source !== undefined) definition.source = source;
  const json = encodeDefinition(definition);
  // Every fired task carries the entry's payload and options: the stored entry is as large as a fired task.
  checkEncodedSize(json, maxPayloadSize);
  return { definition, json, schedule };
}

/** The stored form: JSON with a fixed key order, so an unchanged registration compares equal byte for byte. */
export function encodeDefinition(d: EntryDefinition): string {
  const ordered: Record<string, unknown> = {
    v: d.v,
    id: d.id,
    spec: d.spec,
    type: d.type,
    payload: d.payload,
    queue: d.queue,
    tz: d.tz,
    maxRetry: d.maxRetry,
    timeoutMs: d.timeoutMs,
    retentionMs: d.retentionMs,
    processInMs: d.processInMs,
    headers: d.headers,
    catchUp: d.catchUp,
  };
  if (d.source !== undefined) ordered.source = d.source;
  return JSON.stringify(ordered);
}

/** A stored entry that cannot be used; the scheduler logs it and skips it. */
export class CorruptEntryError extends Error {
  constructor(
    readonly entryId: string,
    readonly queue: string,
    reason: string,
  ) {
    super(`corrupt periodic entry "${entryId}" in queue "${queue}": ${reason}`);
    this.name = 'CorruptEntryError';
  }
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * Decodes and re-validates a stored entry (it may have been written by hand or by another version).
 * @throws CorruptEntryError saying what is wrong.
 */
export function decodeDefinition(
  id: string,
  queue: string,
  raw: string,
): { definition: EntryDefinition; schedule: Schedule } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new CorruptEntryError(id, queue, `not JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CorruptEntryError(id, queue, 'not a JSON object');
  const d = value as Record<string, unknown>;
  if (d.v !== 1) throw new CorruptEntryError(id, queue, `unknown format version ${JSON.stringify(d.v)}`);
  if (d.id !== id) throw new CorruptEntryError(id, queue, `its id field is ${JSON.stringify(d.id)}`);
  if (d.queue !== queue) throw new CorruptEntryError(id, queue, `its queue field is ${JSON.stringify(d.queue)}`);
  if (typeof d.type !== 'string' || d.type.length === 0) throw new CorruptEntryError(id, queue, 'missing task type');
  if (typeof d.spec !== 'string' || typeof d.tz !== 'string')
    throw new CorruptEntryError(id, queue, 'missing spec or tz');
  for (const field of ['maxRetry', 'timeoutMs', 'retentionMs', 'processInMs'] as const) {
    if (!isInt(d[field])) throw new CorruptEntryError(id, queue, `${field} is not a non-negative integer`);
  }
  if (typeof d.headers !== 'object' || d.headers === null || Array.isArray(d.headers)) {
    throw new CorruptEntryError(id, queue, 'headers are not an object');
  }
  if (d.catchUp !== 'none' && d.catchUp !== 'last')
    throw new CorruptEntryError(id, queue, 'catchUp is not none or last');
  let schedule: Schedule;
  try {
    schedule = parseCronspec(d.spec, d.tz);
  } catch (err) {
    throw new CorruptEntryError(id, queue, (err as Error).message);
  }
  return { definition: d as unknown as EntryDefinition, schedule };
}

/** An entry's fire state (`<prefix>:{<queue>}:cron:state`, `rev:floor:prevFire:lastTaskId`). */
export interface EntryState {
  /** Bumped by every update of the definition; a tick computed from an older revision is refused. */
  rev: number;
  /** No tick at or before this time fires again: the last fire, or the registration/reschedule time. */
  floor: number;
  /** The last tick that fired (0: none yet). */
  prevFire: number;
  /** The id of the task the last tick enqueued ('' when none). */
  lastTaskId: string;
}

/** Parses a stored state; undefined when missing or malformed. */
export function parseState(raw: string | null | undefined): EntryState | undefined {
  if (typeof raw !== 'string') return undefined;
  const m = /^(\d+):(\d+):(\d+):(.*)$/.exec(raw);
  if (!m) return undefined;
  return { rev: Number(m[1]), floor: Number(m[2]), prevFire: Number(m[3]), lastTaskId: m[4] };
}

/** The stored form of a fire state (what includes/cron-state.lua writes). */
export function formatState(state: EntryState): string {
  return `${state.rev}:${state.floor}:${state.prevFire}:${state.lastTaskId}`;
}
