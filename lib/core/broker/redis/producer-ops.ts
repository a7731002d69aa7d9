import type { EnqueueItem, ProducerOps, StoredTask, TaskRemoval } from '../broker.js';
import type { EnqueueOutcome } from '../script-codes.js';
import { MAX_SCRIPT_BATCH } from './batches.js';
import type { RedisContext } from './context.js';
import { withDiagnosis } from './diagnose.js';
import { cancelScript, enqueueScript, taskInfoScript } from './script-table.js';

/** The producers' operations on Redis (TaskClient), and the task reads the inspector shares. */
export class RedisProducerOps implements ProducerOps {
  constructor(private readonly ctx: RedisContext) {}

  /** Registers queue names in the global registry (plain SADD, outside any script). */
  async registerQueues(queues: string[]): Promise<void> {
    if (queues.length > 0) await this.ctx.client.sadd(this.ctx.global.queues, ...queues);
  }

  async queues(): Promise<string[]> {
    return (await this.ctx.client.smembers(this.ctx.global.queues)).sort();
  }

  /**
   * Enqueues tasks of one queue; batches larger than {@link MAX_SCRIPT_BATCH} become several script calls, each
   * written as soon as it is encoded (Redis starts on the first while the next is encoded, and workers on its tasks),
   * with a turn of the event loop between them so a process that also works is not stalled by a long batch.
   */
  enqueue(queue: string, items: EnqueueItem[], now: number): Promise<EnqueueOutcome[]> {
    return withDiagnosis(this.ctx, queue, () => this.enqueueBatch(queue, items, now));
  }

  private async enqueueBatch(queue: string, items: EnqueueItem[], now: number): Promise<EnqueueOutcome[]> {
    const k = this.ctx.keys(queue);
    if (items.length <= MAX_SCRIPT_BATCH) return this.ctx.scripts.run(enqueueScript, { k, items, now });
    const slices: Promise<EnqueueOutcome[]>[] = [];
    for (let start = 0; start < items.length; start += MAX_SCRIPT_BATCH) {
      if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const slice = this.ctx.scripts.run(enqueueScript, {
        k,
        items: items.slice(start, start + MAX_SCRIPT_BATCH),
        now,
      });
      // Settled later with the others; a failure must not go unhandled meanwhile.
      slice.catch(() => undefined);
      slices.push(slice);
    }
    return (await Promise.all(slices)).flat();
  }

  task(queue: string, id: string): Promise<StoredTask | undefined> {
    return this.ctx.scripts.run(taskInfoScript, { k: this.ctx.keys(queue), id });
  }

  async locate(id: string, queue?: string): Promise<{ queue: string; stored: StoredTask } | undefined> {
    if (queue !== undefined) {
      const stored = await this.task(queue, id);
      return stored ? { queue, stored } : undefined;
    }
    const queues = await this.queues();
    const found = await Promise.all(queues.map(async (q) => ({ queue: q, stored: await this.task(q, id) })));
    const hit = found.find((f) => f.stored !== undefined);
    return hit?.stored ? { queue: hit.queue, stored: hit.stored } : undefined;
  }

  async addWaiter(queue: string, id: string): Promise<void> {
    await this.ctx.client.sadd(this.ctx.keys(queue).waiters, id);
  }

  async removeWaiter(queue: string, id: string): Promise<void> {
    await this.ctx.client.srem(this.ctx.keys(queue).waiters, id);
  }

  cancel(queue: string, id: string, { unique, relay, now }: TaskRemoval): Promise<'removed' | 'active' | 'none'> {
    const k = this.ctx.keys(queue);
    return this.ctx.scripts.run(cancelScript, {
      k,
      id,
      uniqueKey: unique && k.unique(unique.type, unique.digest),
      relay,
      now,
    });
  }

  async publishCancel(queue: string, id: string): Promise<void> {
    await this.ctx.client.publish(this.ctx.global.cancel, JSON.stringify([queue, id]));
  }
}
