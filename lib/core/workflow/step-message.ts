import type { EnqueueItem } from '../broker/broker.js';
import { decodeMessage, type TaskMessage } from '../broker/codec.js';
import type { ResolvedEnqueueOptions } from '../enqueue-options.js';
import { uniqueDigest } from '../unique-lock.js';

/** What a workflow step is enqueued from. */
export interface StepSource {
  type: string;
  /** The encoded payload. */
  payload: unknown;
  options: ResolvedEnqueueOptions;
  /** Its `task.previous` (undefined for a first step). */
  previous: unknown;
  /**
   * The workflow's retention: a step an advance dispatches keeps its record at least as long, so a dispatch repeated
   * after a crash finds it and enqueues nothing (exactly once). A first step passes 0 and keeps only its own
   * retention: its dispatch is the creating client's, and a repeat (that client died before recording it) skips
   * every step whose result is recorded (workflow-claim.lua); a step that finished, was deleted and whose relay no
   * worker applied yet may run again then: at least once, as any task after a crash. A record per member kept for
   * the workflow's retention would cost a sorted-set entry and the message's bytes for every member of every group.
   */
  workflowRetentionMs: number;
  /** False for the onFailure task, which reports to no workflow. */
  member: boolean;
  now: number;
}

/** The task message of a workflow step. */
export function stepMessage(s: StepSource): TaskMessage {
  return {
    type: s.type,
    payload: s.payload,
    readyAt: s.options.processAtMs ?? s.now,
    maxRetry: s.options.maxRetry,
    retried: 0,
    timeoutMs: s.options.timeoutMs,
    deadlineMs: s.options.deadlineMs,
    retentionMs: Math.max(s.options.retentionMs, s.workflowRetentionMs),
    headers: s.options.headers,
    workflow: s.member ? true : undefined,
    previous: s.previous,
    uniqueDigest: s.options.uniqueMs !== undefined ? uniqueDigest(s.type, s.payload) : undefined,
  };
}

/** The enqueue item of a step: its deterministic id, its message, its delay and its unique lock. */
export function stepItem(
  id: string,
  message: TaskMessage,
  encoded: string,
  options: ResolvedEnqueueOptions,
): EnqueueItem {
  const item: EnqueueItem = { id, message: encoded, processAtMs: options.processAtMs, checkId: false };
  if (message.uniqueDigest !== undefined && options.uniqueMs !== undefined) {
    item.unique = { type: message.type, digest: message.uniqueDigest, ttlMs: options.uniqueMs };
  }
  return item;
}

/**
 * A first step as the workflow stores it until its dispatch is done (workflow-initial.lua): `=<process-at ms or ''>
 * \t<unique ttl ms or ''>\t<encoded message>`. The client that creates the workflow built the message already; a
 * recovery round that finishes a dispatch the client did not enqueues the same message. The `=` tells it from a
 * template (JSON, `{`).
 */
export function prebuiltStep(item: EnqueueItem): string {
  return `=${item.processAtMs ?? ''}\t${item.unique?.ttlMs ?? ''}\t${item.message}`;
}

/** True for a {@link prebuiltStep} line. */
export const isPrebuiltStep = (stored: string): boolean => stored.startsWith('=');

/** The enqueue item of a {@link prebuiltStep} line. @throws CorruptTaskError when its message is not readable */
export function prebuiltItem(id: string, stored: string): EnqueueItem {
  const a = stored.indexOf('\t');
  const b = stored.indexOf('\t', a + 1);
  const processAt = stored.slice(1, a);
  const ttl = stored.slice(a + 1, b);
  const encoded = stored.slice(b + 1);
  const item: EnqueueItem = { id, message: encoded, checkId: false };
  if (processAt !== '') item.processAtMs = Number(processAt);
  if (ttl !== '') {
    const message = decodeMessage(encoded);
    if (message.uniqueDigest !== undefined) {
      item.unique = { type: message.type, digest: message.uniqueDigest, ttlMs: Number(ttl) };
    }
  }
  return item;
}
