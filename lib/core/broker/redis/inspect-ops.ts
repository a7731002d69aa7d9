import type { ChainableCommander } from 'ioredis';
import type { TaskState } from '../../task.js';
import type { InspectOps, ListedTask, QueueSnapshot, TaskRemoval } from '../broker.js';
import type { TaskOpOutcome } from '../script-codes.js';
import type { RedisContext } from './context.js';
import { namedPipeline, valueOf, type NamedReply } from './pipeline.js';
import { archiveTaskScript, deleteTaskScript, pauseScript, runTaskScript, unpauseScript } from './script-table.js';

const toStrings = (reply: unknown): string[] => (Array.isArray(reply) ? (reply as string[]) : []);
const count = (reply: NamedReply): number => Number(valueOf(reply) ?? 0) || 0;

/** Inspection and admin operations on Redis (TaskInspector): plain read commands in pipelines, and one script per move. */
export class RedisInspectOps implements InspectOps {
  constructor(private readonly ctx: RedisContext) {}

  /**
   * Reads the sizes, counters and pause flag of a queue in one pipeline of plain commands. `memoryUsage` is undefined
   * when `MEMORY USAGE` is not available (some managed Redis services disable it).
   */
  async queueSnapshot(queue: string, day: string): Promise<QueueSnapshot> {
    const k = this.ctx.keys(queue);
    const memory = (key: string) => (p: ChainableCommander) => p.call('MEMORY', 'USAGE', key, 'SAMPLES', '5');
    const r = await namedPipeline(this.ctx.client, {
      pending: (p) => p.llen(k.pending),
      active: (p) => p.scard(k.active),
      scheduled: (p) => p.zcard(k.scheduled),
      retry: (p) => p.zcard(k.retry),
      archived: (p) => p.zcard(k.archived),
      completed: (p) => p.zcard(k.completed),
      processedTotal: (p) => p.get(k.processed),
      failedTotal: (p) => p.get(k.failed),
      processedToday: (p) => p.get(k.processedOn(day)),
      failedToday: (p) => p.get(k.failedOn(day)),
      paused: (p) => p.get(k.paused),
      head: (p) => p.lindex(k.pending, '-1'),
      memTasks: memory(k.tasks),
      memPending: memory(k.pending),
      memScheduled: memory(k.scheduled),
      memRetry: memory(k.retry),
      memArchived: memory(k.archived),
      memCompleted: memory(k.completed),
    });
    const memoryReplies = [r.memTasks, r.memPending, r.memScheduled, r.memRetry, r.memArchived, r.memCompleted];
    const memoryUsage = memoryReplies.every((m) => m.ok)
      ? memoryReplies.reduce((sum, m) => sum + count(m), 0)
      : undefined;
    const paused = valueOf(r.paused) as string | null;
    const head = valueOf(r.head) as string | null;
    return {
      pending: count(r.pending),
      active: count(r.active),
      scheduled: count(r.scheduled),
      retry: count(r.retry),
      archived: count(r.archived),
      completed: count(r.completed),
      processedTotal: count(r.processedTotal),
      failedTotal: count(r.failedTotal),
      processedToday: count(r.processedToday),
      failedToday: count(r.failedToday),
      paused: paused !== null,
      pausedAt: paused !== null && paused !== '' && Number.isFinite(Number(paused)) ? Number(paused) : undefined,
      headId: head ?? undefined,
      memoryUsage,
    };
  }

  async pendingHead(queue: string): Promise<{ id: string; message: string } | undefined> {
    const k = this.ctx.keys(queue);
    // The head may be dequeued between the two reads: try again a few times.
    for (let attempt = 0; attempt < 3; attempt++) {
      const id = await this.ctx.client.lindex(k.pending, '-1');
      if (id === null) return undefined;
      const message = await this.ctx.client.hget(k.tasks, id);
      if (message !== null) return { id, message };
    }
    return undefined;
  }

  /**
   * Pending from the head (next to run first); active by lease expiry, then active ids without a lease; scheduled and
   * retry by due time; archived most recently archived first; completed by expiry (soonest deleted first). Ids whose
   * record vanished between the two reads are left out.
   */
  async listTasks(queue: string, state: TaskState, start: number, count: number): Promise<ListedTask[]> {
    const { client } = this.ctx;
    const k = this.ctx.keys(queue);
    const stop = start + count - 1;
    const entries: { id: string; score?: number }[] = [];
    const pushScored = (flat: string[]): void => {
      for (let i = 0; i < flat.length; i += 2) entries.push({ id: flat[i], score: Number(flat[i + 1]) });
    };
    switch (state) {
      case 'pending': {
        // The head is the right end: offsets counted from the right, then reversed into queue order.
        const ids = await client.lrange(k.pending, String(-(stop + 1)), String(-(start + 1)));
        for (let i = ids.length - 1; i >= 0; i--) entries.push({ id: ids[i] });
        break;
      }
      case 'active': {
        const r = await namedPipeline(client, {
          leased: (p) => p.zrange(k.lease, '0', '-1', 'WITHSCORES'),
          members: (p) => p.smembers(k.active),
        });
        const leased = toStrings(valueOf(r.leased));
        const all: { id: string; score?: number }[] = [];
        const seen = new Set<string>();
        for (let i = 0; i < leased.length; i += 2) {
          all.push({ id: leased[i], score: Number(leased[i + 1]) });
          seen.add(leased[i]);
        }
        for (const id of toStrings(valueOf(r.members)).sort()) if (!seen.has(id)) all.push({ id });
        entries.push(...all.slice(start, stop + 1));
        break;
      }
      case 'scheduled':
      case 'retry':
      case 'completed':
        pushScored(await client.zrange(k[state], String(start), String(stop), 'WITHSCORES'));
        break;
      case 'archived':
        pushScored(await client.zrange(k.archived, String(start), String(stop), 'REV', 'WITHSCORES'));
        break;
    }
    if (entries.length === 0) return [];
    const messages = await client.hmget(k.tasks, ...entries.map((e) => e.id));
    const out: ListedTask[] = [];
    entries.forEach((e, i) => {
      const message = messages[i];
      if (message !== null && message !== undefined) out.push({ id: e.id, stored: { message, state, score: e.score } });
    });
    return out;
  }

  runTask(queue: string, id: string, rewrite?: { expected: string; next: string }): Promise<TaskOpOutcome> {
    return this.ctx.scripts.run(runTaskScript, { k: this.ctx.keys(queue), id, rewrite });
  }

  archiveTask(queue: string, id: string, now: number, relay?: string): Promise<TaskOpOutcome> {
    return this.ctx.scripts.run(archiveTaskScript, { k: this.ctx.keys(queue), id, now, relay });
  }

  deleteTask(queue: string, id: string, { unique, relay, now }: TaskRemoval): Promise<TaskOpOutcome> {
    const k = this.ctx.keys(queue);
    return this.ctx.scripts.run(deleteTaskScript, {
      k,
      id,
      uniqueKey: unique && k.unique(unique.type, unique.digest),
      relay,
      now,
    });
  }

  async pause(queue: string, now: number): Promise<void> {
    await this.ctx.scripts.run(pauseScript, { k: this.ctx.keys(queue), now });
  }

  async unpause(queue: string): Promise<void> {
    await this.ctx.scripts.run(unpauseScript, { k: this.ctx.keys(queue) });
  }
}
