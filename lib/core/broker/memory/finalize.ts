import type { ArchiveItem, CompleteItem, RetryItem } from '../broker.js';
import { counterDay, MAX_ARCHIVE_AGE_MS, MAX_ARCHIVED_TASKS } from '../retention.js';
import { lockKey, type QueueState } from './queue-state.js';
import type { StoreRecorder } from './store.js';

/**
 * The finalize writes of a worker, each fenced on the exact lease score (complete.lua, retry.lua, archive.lua): a
 * task whose lease moved on is left alone and reported lost.
 */

/** Where a deleted completion is reported (the testing kit remembers it). */
export interface FinalizeContext {
  prefix: string;
  recorder?: StoreRecorder;
}

function release(q: QueueState, id: string): void {
  q.lease.remove(id);
  q.active.delete(id);
}

/** active → deleted, or completed with retention; frees unique locks; announces awaited results. */
export function completeTasks(
  ctx: FinalizeContext,
  q: QueueState,
  items: readonly CompleteItem[],
  now: number,
): string[] {
  const { owned, lost } = q.fence(items);
  if (owned.length === 0) return lost;
  for (const item of owned) {
    if (item.retainUntilMs > 0) {
      // '' keeps the record as stored (a workflow task: its result is its workflow's).
      if (item.message !== '') q.tasks.set(item.id, item.message);
      q.completed.add(item.id, item.retainUntilMs);
    } else {
      const previous = q.tasks.get(item.id);
      q.tasks.delete(item.id);
      if (previous !== undefined) ctx.recorder?.deleted(ctx.prefix, q.name, item.id, previous, item.resultJson, now);
    }
    q.releaseLock(lockKey(item.unique), item.id);
    release(q, item.id);
    if (item.relay) q.relay.add(item.relay, now);
  }
  const { day, expireAt } = counterDay(now);
  q.bump('processed', owned.length, day, expireAt);
  if (q.waiters.size > 0) {
    q.announce(
      owned.map((i) => i.id),
      'completed',
      owned.map((i) => (i.resultJson === '' ? null : (JSON.parse(i.resultJson) as unknown))),
    );
  }
  return lost;
}

/** active → retry at its time; only counted failures bump the counters. */
export function retryTasks(q: QueueState, items: readonly RetryItem[], now: number): string[] {
  const { owned, lost } = q.fence(items);
  if (owned.length === 0) return lost;
  let minDue = Number.POSITIVE_INFINITY;
  let failures = 0;
  for (const item of owned) {
    q.tasks.set(item.id, item.message);
    q.retry.add(item.id, item.retryAtMs);
    release(q, item.id);
    minDue = Math.min(minDue, item.retryAtMs);
    if (item.countsAsFailure) failures++;
  }
  q.wakeIfEarliest(q.retry, minDue);
  if (failures > 0) {
    const { day, expireAt } = counterDay(now);
    q.bump('processed', failures, day, expireAt);
    q.bump('failed', failures, day, expireAt);
  }
  return lost;
}

/** active → archived (now); announces the last errors; trims the archive by age, then by size. */
export function archiveTasks(q: QueueState, items: readonly ArchiveItem[], now: number): string[] {
  const { owned, lost } = q.fence(items);
  if (owned.length === 0) return lost;
  for (const item of owned) {
    q.tasks.set(item.id, item.message);
    q.archived.add(item.id, now);
    release(q, item.id);
    if (item.relay) q.relay.add(item.relay, now);
  }
  const { day, expireAt } = counterDay(now);
  q.bump('processed', owned.length, day, expireAt);
  q.bump('failed', owned.length, day, expireAt);
  q.announce(
    owned.map((i) => i.id),
    'archived',
    owned.map((i) => i.lastError),
  );
  trimArchive(q, now);
  return lost;
}

/** Deletes archived tasks older than 90 days, then the oldest beyond 10,000 (at most 1000 of each per call). */
export function trimArchive(q: QueueState, now: number): void {
  for (const old of q.archived.upTo(now - MAX_ARCHIVE_AGE_MS, 1000)) deleteArchived(q, old.member);
  const excess = q.archived.size - MAX_ARCHIVED_TASKS;
  if (excess > 0) {
    for (const extra of q.archived.range(0, Math.min(excess, 1000) - 1)) deleteArchived(q, extra.member);
  }
}

function deleteArchived(q: QueueState, id: string): void {
  q.tasks.delete(id);
  q.archived.remove(id);
}
