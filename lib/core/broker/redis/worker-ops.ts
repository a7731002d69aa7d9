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
import { MAX_ARCHIVE_AGE_MS, MAX_ARCHIVED_TASKS } from '../retention.js';
import { inScriptBatches, MAX_SCRIPT_BATCH } from './batches.js';
import type { RedisContext } from './context.js';
import { diagnose } from './diagnose.js';
import {
  archiveScript,
  checkpointScript,
  completeScript,
  dequeueScript,
  extendLeaseScript,
  forwardScript,
  janitorScript,
  recoverScript,
  requeueScript,
  retryScript,
} from './script-table.js';
import { RedisWakeSource } from './wake-source.js';

export { MAX_ARCHIVED_TASKS, MAX_ARCHIVE_AGE_MS } from '../retention.js';

/** A WITHSCORES reply (id, score, id, score...) as leases. */
function leasedItems(flat: string[]): LeasedItem[] {
  const out: LeasedItem[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i], leaseScore: flat[i + 1] });
  return out;
}

/** The worker's operations on Redis: each state transition is one script call on one queue (one cluster slot). */
export class RedisWorkerOps implements WorkerOps {
  constructor(private readonly ctx: RedisContext) {}

  async dequeue(
    queue: string,
    count: number,
    leaseScore: string,
  ): Promise<{ tasks: ClaimedTask[]; dueChanged: boolean }> {
    const k = this.ctx.keys(queue);
    try {
      // More free slots than one call carries: claim slice after slice while the queue keeps giving full ones.
      const first = await this.ctx.scripts.run(dequeueScript, {
        k,
        count: Math.min(count, MAX_SCRIPT_BATCH),
        leaseScore,
      });
      let { tasks, dueChanged } = first;
      let last = first.tasks.length;
      while (last === MAX_SCRIPT_BATCH && tasks.length < count) {
        const next = await this.ctx.scripts.run(dequeueScript, {
          k,
          count: Math.min(count - tasks.length, MAX_SCRIPT_BATCH),
          leaseScore,
        });
        tasks = tasks.concat(next.tasks);
        dueChanged ||= next.dueChanged;
        last = next.tasks.length;
      }
      return { tasks, dueChanged };
    } catch (err) {
      // The diagnosis costs nothing on success: only a failed claim is examined.
      throw await diagnose(this.ctx, queue, err);
    }
  }

  complete(queue: string, items: CompleteItem[], now: number): Promise<string[]> {
    const k = this.ctx.keys(queue);
    const day = this.ctx.day(now);
    return inScriptBatches(items, (slice) => this.ctx.scripts.run(completeScript, { k, items: slice, now, ...day }));
  }

  retry(queue: string, items: RetryItem[], now: number): Promise<string[]> {
    const k = this.ctx.keys(queue);
    const day = this.ctx.day(now);
    return inScriptBatches(items, (slice) => this.ctx.scripts.run(retryScript, { k, items: slice, ...day }));
  }

  archive(queue: string, items: ArchiveItem[], now: number): Promise<string[]> {
    const k = this.ctx.keys(queue);
    const day = this.ctx.day(now);
    return inScriptBatches(items, (slice) =>
      this.ctx.scripts.run(archiveScript, {
        k,
        items: slice,
        now,
        ...day,
        maxArchived: MAX_ARCHIVED_TASKS,
        maxAgeMs: MAX_ARCHIVE_AGE_MS,
      }),
    );
  }

  requeue(queue: string, items: LeasedItem[]): Promise<string[]> {
    const k = this.ctx.keys(queue);
    return inScriptBatches(items, (slice) => this.ctx.scripts.run(requeueScript, { k, items: slice }));
  }

  extendLeases(queue: string, items: LeasedItem[], newScore: string): Promise<string[]> {
    const k = this.ctx.keys(queue);
    return inScriptBatches(items, (slice) => this.ctx.scripts.run(extendLeaseScript, { k, items: slice, newScore }));
  }

  forward(queue: string, now: number, limit = 1000): Promise<{ moved: number; nextDue?: number }> {
    return this.ctx.scripts.run(forwardScript, { k: this.ctx.keys(queue), now, limit });
  }

  async expiredLeases(queue: string, now: number, limit = 100): Promise<LeasedItem[]> {
    const key = this.ctx.keys(queue).lease;
    return leasedItems(
      await this.ctx.client.zrangebyscore(key, '-inf', String(now), 'WITHSCORES', 'LIMIT', '0', String(limit)),
    );
  }

  /** Every lease of the queue; the set is small: at most the total concurrency of all workers. */
  async leases(queue: string): Promise<LeasedItem[]> {
    return leasedItems(await this.ctx.client.zrange(this.ctx.keys(queue).lease, '0', '-1', 'WITHSCORES'));
  }

  async activeWithoutLease(queue: string): Promise<string[]> {
    const k = this.ctx.keys(queue);
    const active = await this.ctx.client.smembers(k.active);
    if (active.length === 0) return [];
    const scores = await this.ctx.client.zmscore(k.lease, ...active);
    return active.filter((_, i) => scores[i] === null);
  }

  async messages(queue: string, ids: string[]): Promise<(string | undefined)[]> {
    if (ids.length === 0) return [];
    const values = await this.ctx.client.hmget(this.ctx.keys(queue).tasks, ...ids);
    return values.map((v) => v ?? undefined);
  }

  async recover(queue: string, items: RecoverItem[], now: number): Promise<number> {
    const k = this.ctx.keys(queue);
    const day = this.ctx.day(now);
    const counts = await inScriptBatches(items, async (slice) => [
      await this.ctx.scripts.run(recoverScript, { k, items: slice, now, ...day }),
    ]);
    return counts.reduce((a, b) => a + b, 0);
  }

  janitor(queue: string, now: number, batch = 500): Promise<number> {
    return this.ctx.scripts.run(janitorScript, { k: this.ctx.keys(queue), now, batch, maxAgeMs: MAX_ARCHIVE_AGE_MS });
  }

  checkpoint(queue: string, item: LeasedItem, message: string): Promise<boolean> {
    return this.ctx.scripts.run(checkpointScript, {
      k: this.ctx.keys(queue),
      id: item.id,
      leaseScore: item.leaseScore,
      message,
    });
  }

  openWakeSource(queues: string[], params: WakeSourceParams): WakeSource {
    return new RedisWakeSource(this.ctx, queues, params);
  }
}
