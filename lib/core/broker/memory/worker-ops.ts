import type {
  ArchiveItem,
  ClaimedTask,
  CompleteItem,
  LeasedItem,
  RecoverItem,
  RetryItem,
  WakeSource,
  WakeSourceParams,
  WorkerOps,
} from '../broker.js';
import { counterDay, MAX_ARCHIVE_AGE_MS } from '../retention.js';
import type { MemoryContext } from './context.js';
import { archiveTasks, completeTasks, retryTasks } from './finalize.js';
import type { QueueState } from './queue-state.js';
import type { SortedSet } from './sorted-set.js';
import { MemoryWakeSource } from './wake-source.js';

const leased = (set: SortedSet, limit?: number, max = Number.POSITIVE_INFINITY): LeasedItem[] =>
  set.upTo(max, limit).map((e) => ({ id: e.member, leaseScore: String(e.score) }));

/**
 * The worker's operations in memory, each one atomic, step by step as its Lua script (dequeue, requeue, extend-lease,
 * forward, recover, janitor; the finalize writes in finalize.ts).
 */
export class MemoryWorkerOps implements WorkerOps {
  constructor(private readonly ctx: MemoryContext) {}

  dequeue(queue: string, count: number, leaseScore: string): Promise<{ tasks: ClaimedTask[]; dueChanged: boolean }> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      // A busy worker never blocks on the markers, so it learns of earlier due times here (and consumes the marker).
      const dueChanged = q.markers.delete('d');
      const tasks: ClaimedTask[] = [];
      if (q.pausedAt !== undefined || this.ctx.store.held) return { tasks, dueChanged };
      const ids = q.pending.popHead(count);
      const score = Number(leaseScore);
      const seen = new Set<string>();
      for (const id of ids) {
        const message = q.tasks.get(id);
        // A duplicate pending entry of a leased task is never leased a second time.
        if (q.lease.has(id) || seen.has(id)) tasks.push({ id, message: '-' });
        else if (message === undefined) tasks.push({ id, message: '' });
        else {
          seen.add(id);
          q.lease.add(id, score);
          q.active.add(id);
          tasks.push({ id, message });
        }
      }
      // Tasks are left: make sure another idle worker wakes for them.
      if (ids.length === count && q.pending.size > 0) q.wakePending();
      return { tasks, dueChanged };
    });
  }

  complete(queue: string, items: CompleteItem[], now: number): Promise<string[]> {
    const { prefix, store } = this.ctx;
    return this.ctx.run(() => completeTasks({ prefix, recorder: store.recorder }, this.ctx.queue(queue), items, now));
  }

  retry(queue: string, items: RetryItem[], now: number): Promise<string[]> {
    return this.ctx.run(() => retryTasks(this.ctx.queue(queue), items, now));
  }

  archive(queue: string, items: ArchiveItem[], now: number): Promise<string[]> {
    return this.ctx.run(() => archiveTasks(this.ctx.queue(queue), items, now));
  }

  /** Back to the head of the queue, the first claimed first served again (requeue.lua). */
  requeue(queue: string, items: LeasedItem[]): Promise<string[]> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      const { owned, lost } = q.fence(items);
      if (owned.length === 0) return lost;
      for (const { id } of owned) {
        q.lease.remove(id);
        q.active.delete(id);
      }
      for (let i = owned.length - 1; i >= 0; i--) q.pending.pushHead(owned[i].id);
      q.wakePending();
      return lost;
    });
  }

  extendLeases(queue: string, items: LeasedItem[], newScore: string): Promise<string[]> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      const { owned, lost } = q.fence(items);
      for (const { id } of owned) q.lease.add(id, Number(newScore));
      return lost;
    });
  }

  forward(queue: string, now: number, limit = 1000): Promise<{ moved: number; nextDue?: number }> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      let moved = 0;
      for (const set of [q.scheduled, q.retry]) {
        const due = set.upTo(now, limit).map((e) => e.member);
        for (const id of due) set.remove(id);
        q.pending.pushTail(due);
        moved += due.length;
      }
      if (moved > 0) q.wakePending();
      const firsts = [q.scheduled.first()?.score, q.retry.first()?.score].filter((s) => s !== undefined);
      return { moved, nextDue: firsts.length > 0 ? Math.min(...firsts) : undefined };
    });
  }

  expiredLeases(queue: string, now: number, limit = 100): Promise<LeasedItem[]> {
    return this.ctx.run(() => leased(this.ctx.queue(queue).lease, limit, now));
  }

  leases(queue: string): Promise<LeasedItem[]> {
    return this.ctx.run(() => leased(this.ctx.queue(queue).lease));
  }

  activeWithoutLease(queue: string): Promise<string[]> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      return [...q.active].filter((id) => !q.lease.has(id));
    });
  }

  messages(queue: string, ids: string[]): Promise<(string | undefined)[]> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      return ids.map((id) => q.tasks.get(id));
    });
  }

  /** Fenced on the lease seen (or on being an orphan still); archived or back to pending, counted (recover.lua). */
  recover(queue: string, items: RecoverItem[], now: number): Promise<number> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      let count = 0;
      let toPending = 0;
      for (const item of items) {
        if (!stillStranded(q, item)) continue;
        q.lease.remove(item.id);
        q.active.delete(item.id);
        q.tasks.set(item.id, item.message);
        count++;
        if (item.action === 'archive') {
          q.archived.add(item.id, now);
          q.announce([item.id], 'archived', [item.lastError]);
          if (item.relay) q.relay.add(item.relay, now);
        } else {
          q.pending.pushTail([item.id]);
          toPending++;
        }
      }
      if (count > 0) {
        const { day, expireAt } = counterDay(now);
        q.bump('processed', count, day, expireAt);
        q.bump('failed', count, day, expireAt);
      }
      if (toPending > 0) q.wakePending();
      return count;
    });
  }

  /** Expired completed tasks and archived ones older than 90 days (janitor.lua); also what Redis would expire. */
  janitor(queue: string, now: number, batch = 500): Promise<number> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      let deleted = 0;
      for (const [set, max] of [
        [q.completed, now],
        [q.archived, now - MAX_ARCHIVE_AGE_MS],
      ] as const) {
        for (const { member } of set.upTo(max, batch)) {
          q.tasks.delete(member);
          set.remove(member);
          deleted++;
        }
      }
      q.sweep();
      this.ctx.space.sweepWorkflows();
      return deleted;
    });
  }

  /** A handler chain's checkpoint, fenced on the lease (checkpoint.lua). */
  checkpoint(queue: string, item: LeasedItem, message: string): Promise<boolean> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      if (q.fence([item]).owned.length === 0) return false;
      q.tasks.set(item.id, message);
      return true;
    });
  }

  openWakeSource(queues: string[], params: WakeSourceParams): WakeSource {
    return new MemoryWakeSource(this.ctx, queues, params);
  }
}

/** The recover script's fence: an expired lease still exactly as seen, or an orphan still active without a lease. */
function stillStranded(q: QueueState, item: RecoverItem): boolean {
  const score = q.lease.score(item.id);
  if (item.seenScore === '') return score === undefined && q.active.has(item.id);
  return score !== undefined && score === Number(item.seenScore);
}
