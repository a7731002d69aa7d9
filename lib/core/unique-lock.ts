import { createHash } from 'node:crypto';
import type { UniqueLock } from './broker/broker.js';
import { decodeMessage } from './broker/codec.js';

/**
 * The unique lock of a task, in one place: a digest of (type, encoded payload), so two enqueues of the same type with
 * equal payloads compete for one lock. The broker turns (queue, type, digest) into its key.
 */
export function uniqueDigest(type: string, encodedPayload: unknown): string {
  return createHash('sha1')
    .update(type)
    .update('\0')
    .update(JSON.stringify(encodedPayload) ?? '')
    .digest('hex');
}

/** The lock a stored message names, if it has one (a corrupt message has none we can name). */
export function uniqueLockOf(message: string): UniqueLock | undefined {
  try {
    const m = decodeMessage(message);
    return m.uniqueDigest ? { type: m.type, digest: m.uniqueDigest } : undefined;
  } catch {
    return undefined;
  }
}
