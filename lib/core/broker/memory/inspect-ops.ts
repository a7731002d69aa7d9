import type { TaskState } from '../../task.js';
import type { InspectOps, ListedTask, QueueSnapshot, TaskRemoval } from '../broker.js';
import type { TaskOpOutcome } from '../script-codes.js';
import type { MemoryContext } from './context.js';
import { lockKey, type QueueState } from './queue-state.js';

/**
 * Inspection and admin operations in memory (TaskInspector): the reads of the Redis inspector, and run-task.lua,
 * archive-task.lua, delete-task.lua, pause.lua and unpause.lua step by step.
 */
export class MemoryInspectOps implements InspectOps {
  constructor(private readonly ctx: MemoryContext) {}

  /** `memoryUsage` is left out: there is no Redis memory to report. */
  queueSnapshot(queue: string, day: string): Promise<QueueSnapshot> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      const snapshot: QueueSnapshot = {
        pending: q.pending.size,
        active: q.active.size,
        scheduled: q.scheduled.size,
        retry: q.retry.size,
        archived: q.archived.size,
        completed: q.completed.size,
        processedTotal: q.total('processed'),
        failedTotal: q.total('failed'),
        processedToday: q.onDay('processed', day),
        failedToday: q.onDay('failed', day),
        paused: q.pausedAt !== undefined,
        headId: q.pending.peek(),
      };
      if (q.pausedAt !== undefined) snapshot.pausedAt = q.pausedAt;
      return snapshot;
    });
  }

  pendingHead(queue: string): Promise<{ id: string; message: string } | undefined> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      const id = q.pending.peek();
      const message = id === undefined ? undefined : q.tasks.get(id);
      return id !== undefined && message !== undefined ? { id, message } : undefined;
    });
  }

  /** The orders of RedisInspectOps.listTasks (see TaskInspector.listTasks). */
  listTasks(queue: string, state: TaskState, start: number, count: number): Promise<ListedTask[]> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      const stop = start + count - 1;
      const entries: { id: string; score?: number }[] = [];
      switch (state) {
        case 'pending':
          for (const id of q.pending.slice(start, stop)) entries.push({ id });
          break;
        case 'active': {
          const all: { id: string; score?: number }[] = q.lease.all().map((e) => ({ id: e.member, score: e.score }));
          for (const id of [...q.active].sort()) if (!q.lease.has(id)) all.push({ id });
          entries.push(...all.slice(start, stop + 1));
          break;
        }
        case 'scheduled':
        case 'retry':
        case 'completed':
        case 'archived':
          for (const e of q[state].range(start, stop, state === 'archived'))
            entries.push({ id: e.member, score: e.score });
          break;
      }
      const out: ListedTask[] = [];
      for (const e of entries) {
        const message = q.tasks.get(e.id);
        if (message !== undefined) out.push({ id: e.id, stored: { message, state, score: e.score } });
      }
      return out;
    });
  }

  runTask(queue: string, id: string, rewrite?: { expected: string; next: string }): Promise<TaskOpOutcome> {
    return this.ctx.run((): TaskOpOutcome => {
      const q = this.ctx.queue(queue);
      const message = q.tasks.get(id);
      if (message === undefined) return 'not-found';
      if (isActive(q, id)) return 'active';
      if (q.completed.has(id)) return 'completed';
      for (const set of [q.scheduled, q.retry, q.archived]) {
        if (!set.remove(id)) continue;
        if (rewrite && message === rewrite.expected) q.tasks.set(id, rewrite.next);
        q.pending.pushTail([id]);
        q.wakePending();
        return 'ok';
      }
      return 'pending';
    });
  }

  archiveTask(queue: string, id: string, now: number, relay?: string): Promise<TaskOpOutcome> {
    return this.ctx.run((): TaskOpOutcome => {
      const q = this.ctx.queue(queue);
      if (!q.tasks.has(id)) return 'not-found';
      if (isActive(q, id)) return 'active';
      if (q.archived.has(id)) return 'archived';
      if (q.completed.has(id)) return 'completed';
      const removed = q.scheduled.remove(id) || q.retry.remove(id) || q.pending.remove(id);
      if (!removed) return 'not-found';
      q.archived.add(id, now);
      if (relay) q.relay.add(relay, now);
      return 'ok';
    });
  }

  deleteTask(queue: string, id: string, options: TaskRemoval): Promise<TaskOpOutcome> {
    return this.ctx.run((): TaskOpOutcome => {
      const q = this.ctx.queue(queue);
      if (!q.tasks.has(id)) return 'not-found';
      if (isActive(q, id)) return 'active';
      const removed = [q.scheduled, q.retry, q.archived, q.completed].some((set) => set.remove(id));
      if (!removed) q.pending.remove(id);
      q.tasks.delete(id);
      q.releaseLock(lockKey(options.unique), id);
      if (options.relay) q.relay.add(options.relay, options.now);
      return 'ok';
    });
  }

  pause(queue: string, now: number): Promise<void> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      q.pausedAt ??= now;
    });
  }

  unpause(queue: string): Promise<void> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      q.pausedAt = undefined;
      if (q.pending.size > 0) q.wakePending();
    });
  }
}

/** Leased, or in the active set without a lease: either way a worker may be running it. */
const isActive = (q: QueueState, id: string): boolean => q.lease.has(id) || q.active.has(id);
