import type { RedisClient } from '../connection.js';
import type { TaskState } from '../task.js';
import { DAILY_STATS_TTL_MS, GlobalKeys, QueueKeys, utcDay } from './keys.js';
import { ScriptRunner, type ScriptArg } from './scripts.js';

/** Archive limits (as Asynq): at most this many archived tasks per queue... */
export const MAX_ARCHIVED_TASKS = 10_000;
/** ...kept at most this long (90 days). */
export const MAX_ARCHIVE_AGE_MS = 90 * 86_400_000;
/** Largest batch one script call carries (bounded by Lua's unpack limit). */
export const MAX_SCRIPT_BATCH = 1000;

/** One task to enqueue, already encoded. */
export interface EnqueueItem {
  id: string;
  message: string;
  processAtMs?: number;
  checkId: boolean;
  uniqueKey?: string;
  uniqueTtlMs?: number;
  /** Register a waiter atomically with the enqueue (enqueueAndWait). */
  awaited?: boolean;
}

/** Result code of one enqueued task. */
export type EnqueueCode = 'ok' | 'conflict' | 'duplicate';

/** A task claimed by dequeue; `message` is '' when the id had no record. */
export interface ClaimedTask {
  id: string;
  message: string;
}

/** A finished task to complete. */
export interface CompleteItem {
  id: string;
  leaseScore: string;
  retainUntilMs: number;
  message: string;
  uniqueKey?: string;
  resultJson: string;
}

/** A failed task to retry. */
export interface RetryItem {
  id: string;
  leaseScore: string;
  message: string;
  retryAtMs: number;
  countsAsFailure: boolean;
}

/** A failed task to archive. */
export interface ArchiveItem {
  id: string;
  leaseScore: string;
  message: string;
  lastError: string;
}

/** A task held under a lease. */
export interface LeasedItem {
  id: string;
  leaseScore: string;
}

/** A task the recoverer reclaims. */
export interface RecoverItem {
  id: string;
  /** The expired lease score seen, or '' for an active task without a lease. */
  seenScore: string;
  message: string;
  action: 'pending' | 'archive';
  lastError: string;
}

/** Raw task record with its derived state. */
export interface StoredTask {
  message: string;
  state: TaskState;
  /** The score in the state's sorted set (due time, archive time, expiry, lease), if any. */
  score?: number;
}

const toStrings = (reply: unknown): string[] => (Array.isArray(reply) ? (reply as string[]) : []);

/**
 * Every Redis operation the engine performs. The only place (with the scripts) that knows the data model; each
 * state transition is one atomic script call on one queue (one cluster slot).
 */
export class RedisBroker {
  readonly global: GlobalKeys;
  private readonly scripts: ScriptRunner;
  private readonly keysByQueue = new Map<string, QueueKeys>();

  constructor(
    readonly client: RedisClient,
    readonly prefix: string,
  ) {
    this.global = new GlobalKeys(prefix);
    this.scripts = new ScriptRunner(client);
  }

  /** The keys of `queue` (cached). */
  keys(queue: string): QueueKeys {
    let keys = this.keysByQueue.get(queue);
    if (!keys) {
      keys = new QueueKeys(this.prefix, queue);
      this.keysByQueue.set(queue, keys);
    }
    return keys;
  }

  private dailyExpireAt(now: number): number {
    return Date.parse(utcDay(now)) + DAILY_STATS_TTL_MS;
  }

  /** Registers queue names in the global registry (plain SADD, outside any script). */
  async registerQueues(queues: string[]): Promise<void> {
    if (queues.length > 0) await this.client.sadd(this.global.queues, ...queues);
  }

  /** All registered queue names. */
  async queues(): Promise<string[]> {
    return (await this.client.smembers(this.global.queues)).sort();
  }

  /**
   * Enqueues tasks of one queue; batches larger than {@link MAX_SCRIPT_BATCH} become several script calls sent in one
   * pipeline (one round trip).
   */
  async enqueue(queue: string, items: EnqueueItem[]): Promise<EnqueueCode[]> {
    if (items.length <= MAX_SCRIPT_BATCH) return this.enqueueChunk(queue, items);
    const pipeline = this.client.pipeline();
    for (let start = 0; start < items.length; start += MAX_SCRIPT_BATCH) {
      const { keys, args } = this.enqueueCall(queue, items.slice(start, start + MAX_SCRIPT_BATCH));
      this.scripts.queue(pipeline, 'enqueue', keys, args);
    }
    const replies = (await pipeline.exec()) ?? [];
    const codes: EnqueueCode[] = [];
    for (const [err, reply] of replies) {
      if (err) throw err;
      codes.push(...this.enqueueCodes(reply));
    }
    return codes;
  }

  private async enqueueChunk(queue: string, items: EnqueueItem[]): Promise<EnqueueCode[]> {
    const { keys, args } = this.enqueueCall(queue, items);
    return this.enqueueCodes(await this.scripts.run('enqueue', keys, args));
  }

  private enqueueCall(queue: string, items: EnqueueItem[]): { keys: string[]; args: ScriptArg[] } {
    const k = this.keys(queue);
    const keys = [k.tasks, k.pending, k.scheduled, k.wake, k.waiters];
    const args: ScriptArg[] = [items.length];
    for (const item of items) {
      let uniqueIndex = 0;
      if (item.uniqueKey !== undefined) {
        keys.push(item.uniqueKey);
        uniqueIndex = keys.length;
      }
      args.push(
        item.id, item.message, item.processAtMs ?? 0, item.checkId ? 1 : 0, uniqueIndex, item.uniqueTtlMs ?? 0,
        item.awaited ? 1 : 0,
      );
    }
    return { keys, args };
  }

  private enqueueCodes(reply: unknown): EnqueueCode[] {
    return (reply as number[]).map((c) => (c === 1 ? 'ok' : c === 0 ? 'conflict' : 'duplicate'));
  }

  /** Claims up to `count` pending tasks under `leaseScore`. */
  async dequeue(queue: string, count: number, leaseScore: string): Promise<ClaimedTask[]> {
    const k = this.keys(queue);
    const flat = toStrings(
      await this.scripts.run('dequeue', [k.pending, k.tasks, k.active, k.lease, k.paused, k.wake], [count, leaseScore]),
    );
    const out: ClaimedTask[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i], message: flat[i + 1] });
    return out;
  }

  /** Completes tasks; returns the ids whose lease was lost (nothing written for them). */
  async complete(queue: string, items: CompleteItem[], now: number): Promise<string[]> {
    const k = this.keys(queue);
    const keys = [k.tasks, k.lease, k.active, k.completed, k.waiters, k.processed, k.processedOn(utcDay(now))];
    const args: ScriptArg[] = [this.dailyExpireAt(now), k.done, items.length];
    for (const item of items) {
      let uniqueIndex = 0;
      if (item.uniqueKey !== undefined) {
        keys.push(item.uniqueKey);
        uniqueIndex = keys.length;
      }
      args.push(item.id, item.leaseScore, item.retainUntilMs, item.message, uniqueIndex, item.resultJson);
    }
    return toStrings(await this.scripts.run('complete', keys, args));
  }

  /** Moves failed tasks to the retry set; returns the ids whose lease was lost. */
  async retry(queue: string, items: RetryItem[], now: number): Promise<string[]> {
    const k = this.keys(queue);
    const day = utcDay(now);
    const keys = [k.tasks, k.lease, k.active, k.retry, k.wake, k.processed, k.processedOn(day), k.failed, k.failedOn(day)];
    const args: ScriptArg[] = [this.dailyExpireAt(now), items.length];
    for (const item of items) {
      args.push(item.id, item.leaseScore, item.message, item.retryAtMs, item.countsAsFailure ? 1 : 0);
    }
    return toStrings(await this.scripts.run('retry', keys, args));
  }

  /** Archives failed tasks; returns the ids whose lease was lost. */
  async archive(queue: string, items: ArchiveItem[], now: number): Promise<string[]> {
    const k = this.keys(queue);
    const day = utcDay(now);
    const keys = [k.tasks, k.lease, k.active, k.archived, k.waiters, k.processed, k.processedOn(day), k.failed, k.failedOn(day)];
    const args: ScriptArg[] = [now, this.dailyExpireAt(now), k.done, MAX_ARCHIVED_TASKS, MAX_ARCHIVE_AGE_MS, items.length];
    for (const item of items) args.push(item.id, item.leaseScore, item.message, item.lastError);
    return toStrings(await this.scripts.run('archive', keys, args));
  }

  /** Gives active tasks back to the head of the queue; returns the ids whose lease was lost. */
  async requeue(queue: string, items: LeasedItem[]): Promise<string[]> {
    const k = this.keys(queue);
    const args: ScriptArg[] = [items.length];
    for (const item of items) args.push(item.id, item.leaseScore);
    return toStrings(await this.scripts.run('requeue', [k.lease, k.active, k.pending, k.wake], args));
  }

  /** Moves the leases still held to `newScore`; returns the ids whose lease was lost. */
  async extendLeases(queue: string, items: LeasedItem[], newScore: string): Promise<string[]> {
    const k = this.keys(queue);
    const args: ScriptArg[] = [newScore, items.length];
    for (const item of items) args.push(item.id, item.leaseScore);
    return toStrings(await this.scripts.run('extend-lease', [k.lease], args));
  }

  /** Moves due scheduled/retry tasks to pending; returns how many moved and the next due time (or undefined). */
  async forward(queue: string, now: number, limit = 1000): Promise<{ moved: number; nextDue?: number }> {
    const k = this.keys(queue);
    const [moved, next] = (await this.scripts.run('forward', [k.scheduled, k.retry, k.pending, k.wake], [now, limit])) as [
      number,
      string,
    ];
    const nextDue = Number(next);
    return { moved, nextDue: nextDue < 0 ? undefined : nextDue };
  }

  /** Expired leases: ids with the score seen (at most `limit`). */
  async expiredLeases(queue: string, now: number, limit = 100): Promise<LeasedItem[]> {
    const flat = await this.client.zrangebyscore(this.keys(queue).lease, '-inf', String(now), 'WITHSCORES', 'LIMIT', '0', String(limit));
    const out: LeasedItem[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i], leaseScore: flat[i + 1] });
    return out;
  }

  /** The earliest lease expiry of the queue (ms), if any task is active. */
  async earliestLease(queue: string): Promise<number | undefined> {
    const first = await this.client.zrange(this.keys(queue).lease, '0', '0', 'WITHSCORES');
    return first.length > 0 ? Number(first[1]) : undefined;
  }

  /** Active ids that hold no lease (a lost lease key, a failover): the recoverer takes them back. */
  async activeWithoutLease(queue: string): Promise<string[]> {
    const k = this.keys(queue);
    const active = await this.client.smembers(k.active);
    if (active.length === 0) return [];
    const scores = await this.client.zmscore(k.lease, ...active);
    return active.filter((_, i) => scores[i] === null);
  }

  /** Raw messages of ids (undefined where missing). */
  async messages(queue: string, ids: string[]): Promise<(string | undefined)[]> {
    if (ids.length === 0) return [];
    const values = await this.client.hmget(this.keys(queue).tasks, ...ids);
    return values.map((v) => v ?? undefined);
  }

  /** Reclaims tasks of dead workers; returns how many were recovered. */
  async recover(queue: string, items: RecoverItem[], now: number): Promise<number> {
    const k = this.keys(queue);
    const day = utcDay(now);
    const keys = [
      k.tasks, k.lease, k.active, k.pending, k.archived, k.wake, k.waiters,
      k.processed, k.processedOn(day), k.failed, k.failedOn(day),
    ];
    const args: ScriptArg[] = [now, this.dailyExpireAt(now), k.done, items.length];
    for (const item of items) args.push(item.id, item.seenScore, item.message, item.action, item.lastError);
    return (await this.scripts.run('recover', keys, args)) as number;
  }

  /** Deletes expired completed tasks and old archived ones; returns how many. */
  async janitor(queue: string, now: number, batch = 500): Promise<number> {
    const k = this.keys(queue);
    return (await this.scripts.run('janitor', [k.tasks, k.completed, k.archived], [now, batch, MAX_ARCHIVE_AGE_MS])) as number;
  }

  /** Cancels a waiting task: 'removed', 'active' (caller publishes the cancel), or 'none'. */
  async cancel(queue: string, id: string, uniqueKey?: string): Promise<'removed' | 'active' | 'none'> {
    const k = this.keys(queue);
    const keys = [k.tasks, k.pending, k.scheduled, k.retry, k.lease];
    if (uniqueKey) keys.push(uniqueKey);
    const code = (await this.scripts.run('cancel', keys, [id])) as number;
    return code === 1 ? 'removed' : code === 2 ? 'active' : 'none';
  }

  /** Publishes the cancel of an active task to every worker. */
  async publishCancel(queue: string, id: string): Promise<void> {
    await this.client.publish(this.global.cancel, JSON.stringify([queue, id]));
  }

  /** Reads a task and its state; undefined when there is none. */
  async task(queue: string, id: string): Promise<StoredTask | undefined> {
    const k = this.keys(queue);
    const reply = toStrings(
      await this.scripts.run('task-info', [k.tasks, k.lease, k.active, k.scheduled, k.retry, k.archived, k.completed], [id]),
    );
    if (reply.length === 0) return undefined;
    return { message: reply[0], state: reply[1] as TaskState, score: reply[2] === '' ? undefined : Number(reply[2]) };
  }

  /** Marks `id` as awaited, so finishing it publishes on the queue's done channel. */
  async addWaiter(queue: string, id: string): Promise<void> {
    await this.client.sadd(this.keys(queue).waiters, id);
  }

  /** Forgets a waiter (the wait ended another way). */
  async removeWaiter(queue: string, id: string): Promise<void> {
    await this.client.srem(this.keys(queue).waiters, id);
  }

  /** Scheduled → pending, retry → pending, archived → pending. */
  async runTask(queue: string, id: string): Promise<number> {
    const k = this.keys(queue);
    return (await this.scripts.run(
      'run-task',
      [k.tasks, k.scheduled, k.retry, k.archived, k.lease, k.pending, k.wake, k.completed],
      [id],
    )) as number;
  }

  /** Pending/scheduled/retry → archived. */
  async archiveTask(queue: string, id: string, now: number): Promise<number> {
    const k = this.keys(queue);
    return (await this.scripts.run(
      'archive-task',
      [k.tasks, k.pending, k.scheduled, k.retry, k.archived, k.lease, k.completed],
      [id, now],
    )) as number;
  }

  /** Deletes a task that is not active. */
  async deleteTask(queue: string, id: string, uniqueKey?: string): Promise<number> {
    const k = this.keys(queue);
    const keys = [k.tasks, k.pending, k.scheduled, k.retry, k.archived, k.completed, k.lease, k.active];
    if (uniqueKey) keys.push(uniqueKey);
    return (await this.scripts.run('delete-task', keys, [id])) as number;
  }

  /** Pauses a queue's pickup. */
  async pause(queue: string, now: number): Promise<void> {
    await this.scripts.run('pause', [this.keys(queue).paused], [now]);
  }

  /** Resumes a queue's pickup. */
  async unpause(queue: string): Promise<void> {
    const k = this.keys(queue);
    await this.scripts.run('unpause', [k.paused, k.pending, k.wake], []);
  }
}
