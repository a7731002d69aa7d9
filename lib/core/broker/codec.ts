import { CorruptTaskError } from '../errors.js';
import { DEFAULT_MAX_RETRY, DEFAULT_TIMEOUT_MS } from '../enqueue-options.js';

/**
 * A task as stored in the queue's task hash. The wire form is a compact JSON object (version 1) with one-letter keys
 * and defaults omitted, because millions of waiting tasks live in Redis RAM:
 *
 * | key | field | omitted when |
 * |---|---|---|
 * | t | type | never |
 * | p | payload (already encoded by the payload codec) | undefined |
 * | s | ready-at ms (enqueue or due time; for queue latency) | never |
 * | r | maxRetry | 25 |
 * | n | retried | 0 |
 * | o | timeout ms | 30 min |
 * | d | deadline ms | none |
 * | u | unique-lock digest | not unique |
 * | k | retention ms | 0 |
 * | h | headers | empty |
 * | e | last error | none |
 * | f | last failed at ms | none |
 * | c | completed at ms | not completed |
 * | x | result | none |
 * | w | awaited (enqueueAndWait): keep the result a short while even without retention | false |
 * | g | a workflow task (1): its id is `<workflow id>.<task index>` | not a workflow task |
 * | q | previous: the result of the step before (workflow), `task.previous` | none |
 * | j | checkpoint: the last handler of a handler chain that finished (0-based) | no checkpoint |
 * | y | the output of that handler (the next one's `task.previous`) | no checkpoint |
 * | v | format version | 1 |
 */
export interface TaskMessage {
  type: string;
  payload: unknown;
  readyAt: number;
  maxRetry: number;
  retried: number;
  timeoutMs: number;
  deadlineMs?: number;
  uniqueDigest?: string;
  retentionMs: number;
  headers: Record<string, string>;
  lastError?: string;
  lastFailedAt?: number;
  completedAt?: number;
  result?: unknown;
  /** Someone awaits the result (enqueueAndWait): it is kept briefly even without retention, so it survives a
   * notification lost to a reconnect. */
  awaited?: boolean;
  /** A workflow task: its id is `<workflow id>.<task index>`. */
  workflow?: boolean;
  /** The result of the step before this one (a workflow's `task.previous`). */
  previous?: unknown;
  /** A handler chain's checkpoint: the last handler that finished, and its output. */
  checkpoint?: { step: number; output: unknown };
}

interface WireV1 {
  v?: number;
  t: string;
  p?: unknown;
  s: number;
  r?: number;
  n?: number;
  o?: number;
  d?: number;
  u?: string;
  k?: number;
  h?: Record<string, string>;
  e?: string;
  f?: number;
  c?: number;
  x?: unknown;
  w?: 1;
  g?: 1;
  q?: unknown;
  j?: number;
  y?: unknown;
}

/** Encodes a message. Throws TypeError when the payload or result cannot be JSON-encoded (BigInt, cycles). */
export function encodeMessage(m: TaskMessage): string {
  const wire: WireV1 = { t: m.type, s: m.readyAt };
  if (m.payload !== undefined) wire.p = m.payload;
  if (m.maxRetry !== DEFAULT_MAX_RETRY) wire.r = m.maxRetry;
  if (m.retried !== 0) wire.n = m.retried;
  if (m.timeoutMs !== DEFAULT_TIMEOUT_MS) wire.o = m.timeoutMs;
  if (m.deadlineMs !== undefined) wire.d = m.deadlineMs;
  if (m.uniqueDigest !== undefined) wire.u = m.uniqueDigest;
  if (m.retentionMs !== 0) wire.k = m.retentionMs;
  for (const _ in m.headers) {
    wire.h = m.headers;
    break;
  }
  if (m.lastError !== undefined) wire.e = m.lastError;
  if (m.lastFailedAt !== undefined) wire.f = m.lastFailedAt;
  if (m.completedAt !== undefined) wire.c = m.completedAt;
  if (m.result !== undefined) wire.x = m.result;
  if (m.awaited) wire.w = 1;
  if (m.workflow) wire.g = 1;
  if (m.previous !== undefined) wire.q = m.previous;
  if (m.checkpoint !== undefined) {
    wire.j = m.checkpoint.step;
    if (m.checkpoint.output !== undefined) wire.y = m.checkpoint.output;
  }
  return JSON.stringify(wire);
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const optionalNumber = (v: unknown, field: string): number | undefined => {
  if (v === undefined) return undefined;
  if (!isFiniteNumber(v)) throw new CorruptTaskError(`field "${field}" is not a number`);
  return v;
};

function checkpointStep(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new CorruptTaskError('field "j" is not a step number');
  return v;
}

/** Decodes a stored message. @throws CorruptTaskError with the reason when it is not a valid message. */
export function decodeMessage(raw: string): TaskMessage {
  let wire: unknown;
  try {
    wire = JSON.parse(raw);
  } catch (err) {
    throw new CorruptTaskError(`not JSON (${(err as Error).message})`);
  }
  if (typeof wire !== 'object' || wire === null || Array.isArray(wire)) throw new CorruptTaskError('not a JSON object');
  const w = wire as Record<string, unknown>;
  if (w.v !== undefined && w.v !== 1) throw new CorruptTaskError(`unknown format version ${String(w.v)}`);
  if (typeof w.t !== 'string' || w.t.length === 0) throw new CorruptTaskError('missing task type');
  if (!isFiniteNumber(w.s)) throw new CorruptTaskError('missing ready-at time');
  if (w.h !== undefined && (typeof w.h !== 'object' || w.h === null || Array.isArray(w.h))) {
    throw new CorruptTaskError('headers are not an object');
  }
  if (w.e !== undefined && typeof w.e !== 'string') throw new CorruptTaskError('last error is not a string');
  if (w.u !== undefined && typeof w.u !== 'string') throw new CorruptTaskError('unique digest is not a string');
  return {
    type: w.t,
    payload: w.p,
    readyAt: w.s,
    maxRetry: optionalNumber(w.r, 'r') ?? DEFAULT_MAX_RETRY,
    retried: optionalNumber(w.n, 'n') ?? 0,
    timeoutMs: optionalNumber(w.o, 'o') ?? DEFAULT_TIMEOUT_MS,
    deadlineMs: optionalNumber(w.d, 'd'),
    uniqueDigest: w.u as string | undefined,
    retentionMs: optionalNumber(w.k, 'k') ?? 0,
    headers: (w.h as Record<string, string> | undefined) ?? {},
    lastError: w.e as string | undefined,
    lastFailedAt: optionalNumber(w.f, 'f'),
    completedAt: optionalNumber(w.c, 'c'),
    result: w.x,
    awaited: w.w === 1 ? true : undefined,
    workflow: w.g === 1 ? true : undefined,
    previous: w.q,
    checkpoint: w.j === undefined ? undefined : { step: checkpointStep(w.j), output: w.y },
  };
}
