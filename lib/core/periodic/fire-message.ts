import { encodeMessage } from '../broker/codec.js';
import type { EntryDefinition } from './entry.js';

/** Header carrying the id of the periodic entry that fired a task. */
export const PERIODIC_ID_HEADER = 'taskq-periodic-id';
/** Header carrying the tick (ISO 8601 UTC) a task was fired for. */
export const FIRE_TIME_HEADER = 'taskq-fire-time';

/** The task message one tick enqueues (codec.ts format), with the periodic headers. */
export function fireMessage(d: EntryDefinition, fireMs: number, processAtMs: number): string {
  return encodeMessage({
    type: d.type,
    payload: d.payload,
    readyAt: processAtMs > 0 ? processAtMs : fireMs,
    maxRetry: d.maxRetry,
    retried: 0,
    timeoutMs: d.timeoutMs,
    retentionMs: d.retentionMs,
    headers: { ...d.headers, [PERIODIC_ID_HEADER]: d.id, [FIRE_TIME_HEADER]: new Date(fireMs).toISOString() },
  });
}

const READY_SENTINEL = -987654321;
const FIRE_SENTINEL = '\u0001taskq-fire\u0001';

/**
 * Builds {@link fireMessage} results by string concatenation from a template encoded once per entry: a tick then
 * costs two number-to-string conversions instead of a full JSON encoding (10,000 entries fire in one pass).
 */
export function fireMessageBuilder(d: EntryDefinition): (fireMs: number, processAtMs: number) => string {
  const template = encodeMessage({
    type: d.type,
    payload: d.payload,
    readyAt: READY_SENTINEL,
    maxRetry: d.maxRetry,
    retried: 0,
    timeoutMs: d.timeoutMs,
    retentionMs: d.retentionMs,
    headers: { ...d.headers, [PERIODIC_ID_HEADER]: d.id, [FIRE_TIME_HEADER]: FIRE_SENTINEL },
  });
  const readyText = `"s":${READY_SENTINEL}`;
  const fireText = JSON.stringify(FIRE_SENTINEL);
  const r = template.indexOf(readyText);
  const f = template.indexOf(fireText);
  // The sentinels are unique unless a payload or header happens to contain them: then encode each tick in full.
  if (r < 0 || f < r || template.indexOf(readyText, r + 1) >= 0 || template.indexOf(fireText, f + 1) >= 0) {
    return (fireMs, processAtMs) => fireMessage(d, fireMs, processAtMs);
  }
  const a = template.slice(0, r) + '"s":';
  const b = template.slice(r + readyText.length, f) + '"';
  const c = '"' + template.slice(f + fireText.length);
  return (fireMs, processAtMs) => a + (processAtMs > 0 ? processAtMs : fireMs) + b + new Date(fireMs).toISOString() + c;
}
