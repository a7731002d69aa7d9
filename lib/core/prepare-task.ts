import type { EnqueueItem } from './broker/broker.js';
import { encodeMessage, type TaskMessage } from './broker/codec.js';
import { resolveEnqueueOptions, type EnqueueOptions } from './enqueue-options.js';
import { InvalidOptionError } from './errors.js';
import { newTaskId } from './ids.js';
import { validateTaskType } from './options.js';
import type { PayloadCodec } from './payload-codec.js';
import { checkEncodedSize } from './producer-options.js';
import type { TaskInfo } from './task.js';
import { uniqueDigest } from './unique-lock.js';

/** A validated, encoded task: what the broker stores, and the TaskInfo the caller gets back. */
export interface PreparedTask {
  item: EnqueueItem;
  info: TaskInfo;
}

/**
 * Validates a task and encodes it for the broker. Pure: nothing is sent, so every task of a batch is checked before
 * anything is written.
 * @param awaited the caller waits for the result (enqueueAndWait): a waiter is registered with the enqueue.
 * @throws InvalidOptionError for an invalid type or option, a payload the codec cannot encode, or a task larger than
 *   `maxPayloadSize` bytes once encoded.
 */
export function prepareTask(
  type: string,
  payload: unknown,
  options: EnqueueOptions | undefined,
  awaited: boolean,
  now: number,
  codec: PayloadCodec,
  maxPayloadSize: number,
): PreparedTask {
  validateTaskType(type);
  const o = resolveEnqueueOptions(options, now);
  const m: TaskMessage = {
    type,
    payload: undefined,
    readyAt: o.processAtMs ?? now,
    maxRetry: o.maxRetry,
    retried: 0,
    timeoutMs: o.timeoutMs,
    deadlineMs: o.deadlineMs,
    retentionMs: o.retentionMs,
    headers: o.headers,
    awaited: awaited || undefined,
  };
  let message: string;
  try {
    m.payload = codec.encode(payload);
    if (o.uniqueMs !== undefined) m.uniqueDigest = uniqueDigest(type, m.payload);
    message = encodeMessage(m);
  } catch (err) {
    throw new InvalidOptionError(
      'payload',
      `it cannot be encoded (${(err as Error).message}); payloads must be JSON-serializable (no BigInt, no cycles)`,
      { cause: err },
    );
  }
  checkEncodedSize(message, maxPayloadSize);
  const id = o.taskId ?? newTaskId();
  const info: TaskInfo = {
    id,
    queue: o.queue,
    type,
    payload,
    state: o.processAtMs !== undefined ? 'scheduled' : 'pending',
    maxRetry: o.maxRetry,
    retried: 0,
    timeout: o.timeoutMs,
    headers: o.headers,
  };
  if (o.deadlineMs !== undefined) info.deadline = new Date(o.deadlineMs);
  if (o.processAtMs !== undefined) info.nextProcessAt = new Date(o.processAtMs);
  const item: EnqueueItem = { id, message, processAtMs: o.processAtMs, checkId: o.taskId !== undefined, awaited };
  if (m.uniqueDigest !== undefined && o.uniqueMs !== undefined) {
    // A scheduled task holds its lock until it is due, plus the unique window (as Asynq does).
    item.unique = {
      type,
      digest: m.uniqueDigest,
      ttlMs: o.uniqueMs + (o.processAtMs !== undefined ? o.processAtMs - now : 0),
    };
  }
  return { item, info };
}
