import type { EnqueueItem, ProducerOps, StoredTask, TaskRemoval } from '../broker.js';
import type { EnqueueOutcome } from '../script-codes.js';
import { storedTask, type MemoryContext } from './context.js';
import { lockKey } from './queue-state.js';

/**
 * The producers' operations in memory (TaskClient), and the task reads the inspector shares: enqueue.lua,
 * task-info.lua and cancel.lua step by step. Hand-offs to idle workers are an optimisation of the Redis backend's
 * round trips, so an enqueue here always goes through pending and a wake marker.
 */
export class MemoryProducerOps implements ProducerOps {
  constructor(private readonly ctx: MemoryContext) {}

  registerQueues(queues: string[]): Promise<void> {
    return this.ctx.run(() => {
      for (const q of queues) this.ctx.space.registry.add(q);
    });
  }

  queues(): Promise<string[]> {
    return this.ctx.run(() => [...this.ctx.space.registry].sort());
  }

  /** Ids, locks and structures as enqueue.lua; `_now` only chooses hand-off registrations there. */
  enqueue(queue: string, items: EnqueueItem[], _now: number): Promise<EnqueueOutcome[]> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      const codes: EnqueueOutcome[] = [];
      const pending: string[] = [];
      const stored: EnqueueItem[] = [];
      let minDue: number | undefined;
      for (const item of items) {
        // A caller-chosen id that exists conflicts; a generated one that exists is a re-sent call: nothing to write.
        const present = q.tasks.has(item.id);
        let code: EnqueueOutcome = present && item.checkId ? 'conflict' : 'ok';
        if (
          code === 'ok' &&
          !present &&
          item.unique &&
          !q.takeLock(lockKey(item.unique)!, item.id, item.unique.ttlMs)
        ) {
          code = 'duplicate';
        }
        if (code === 'ok' && !present) {
          if (item.awaited) q.waiters.add(item.id);
          q.tasks.set(item.id, item.message);
          stored.push(item);
          const at = item.processAtMs ?? 0;
          if (at > 0) {
            q.scheduled.add(item.id, at);
            if (minDue === undefined || at < minDue) minDue = at;
          } else {
            pending.push(item.id);
          }
        }
        codes.push(code);
      }
      if (pending.length > 0) {
        // Only a transition from empty needs a wake-up: workers keep draining a non-empty list on their own.
        const wasEmpty = q.pending.size === 0;
        q.pending.pushTail(pending);
        if (wasEmpty) q.wakePending();
      }
      if (minDue !== undefined) q.wakeIfEarliest(q.scheduled, minDue);
      const recorder = this.ctx.store.recorder;
      if (recorder) {
        for (const item of stored) {
          const state = (item.processAtMs ?? 0) > 0 ? 'scheduled' : 'pending';
          recorder.stored(this.ctx.prefix, queue, item.id, item.message, state);
        }
      }
      return codes;
    });
  }

  task(queue: string, id: string): Promise<StoredTask | undefined> {
    return this.ctx.run(() => {
      const q = this.ctx.space.queues.get(queue);
      return q && storedTask(q, id);
    });
  }

  locate(id: string, queue?: string): Promise<{ queue: string; stored: StoredTask } | undefined> {
    return this.ctx.run(() => {
      const names = queue !== undefined ? [queue] : [...this.ctx.space.registry].sort();
      for (const name of names) {
        const q = this.ctx.space.queues.get(name);
        const stored = q && storedTask(q, id);
        if (stored) return { queue: name, stored };
      }
      return undefined;
    });
  }

  addWaiter(queue: string, id: string): Promise<void> {
    return this.ctx.run(() => void this.ctx.queue(queue).waiters.add(id));
  }

  removeWaiter(queue: string, id: string): Promise<void> {
    return this.ctx.run(() => void this.ctx.space.queues.get(queue)?.waiters.delete(id));
  }

  cancel(queue: string, id: string, options: TaskRemoval): Promise<'removed' | 'active' | 'none'> {
    return this.ctx.run(() => {
      const q = this.ctx.space.queues.get(queue);
      if (!q) return 'none';
      // Leased: it runs (no hand-off here waits unpopped), so the caller publishes the cancel.
      if (q.lease.has(id)) return 'active';
      const removed = q.scheduled.remove(id) || q.retry.remove(id) || q.pending.remove(id);
      if (!removed) return 'none';
      q.tasks.delete(id);
      q.releaseLock(lockKey(options.unique), id);
      if (options.relay) q.relay.add(options.relay, options.now);
      return 'removed';
    });
  }

  publishCancel(queue: string, id: string): Promise<void> {
    return this.ctx.run(() => this.ctx.space.publish('cancel', queue, id));
  }
}
