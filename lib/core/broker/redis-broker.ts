import type { Redis } from 'ioredis';
import type { RedisClient } from '../connection.js';
import type { TaskState } from '../task.js';
import { decodeMessage } from './codec.js';
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

/** Sizes, counters and flags of one queue, read by {@link RedisBroker.queueSnapshot}. */
export interface QueueSnapshot {
  pending: number;
  active: number;
  scheduled: number;
  retry: number;
  archived: number;
  completed: number;
  processedTotal: number;
  failedTotal: number;
  processedToday: number;
  failedToday: number;
  paused: boolean;
  /** When the queue was paused (ms), if known. */
  pausedAt?: number;
  /** The id at the head of the pending list (next to be dequeued). */
  headId?: string;
  /** Approximate bytes of the queue's task hash and state structures (sampled); undefined when unavailable. */
  memoryUsage?: number;
}

/** One task listed by {@link RedisBroker.listTasks}. */
export interface ListedTask {
  id: string;
  stored: StoredTask;
}

const toStrings = (reply: unknown): string[] => (Array.isArray(reply) ? (reply as string[]) : []);

/** A WITHSCORES reply (id, score, id, score...) as leases. */
function leasedItems(flat: string[]): LeasedItem[] {
  const out: LeasedItem[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i], leaseScore: flat[i + 1] });
  return out;
}

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
  async enqueue(queue: string, items: EnqueueItem[], now: number): Promise<EnqueueCode[]> {
    if (items.length <= MAX_SCRIPT_BATCH) return this.enqueueChunk(queue, items, now);
    const pipeline = this.client.pipeline();
    for (let start = 0; start < items.length; start += MAX_SCRIPT_BATCH) {
      const { keys, args } = this.enqueueCall(queue, items.slice(start, start + MAX_SCRIPT_BATCH), now);
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

  private async enqueueChunk(queue: string, items: EnqueueItem[], now: number): Promise<EnqueueCode[]> {
    const { keys, args } = this.enqueueCall(queue, items, now);
    return this.enqueueCodes(await this.scripts.run('enqueue', keys, args));
  }

  private enqueueCall(queue: string, items: EnqueueItem[], now: number): { keys: string[]; args: ScriptArg[] } {
    const k = this.keys(queue);
    const keys = [k.tasks, k.pending, k.scheduled, k.wake, k.waiters, k.idle, k.paused, k.lease, k.active];
    const args: ScriptArg[] = [items.length, now];
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

  /**
   * Claims up to `count` pending tasks under `leaseScore`. `dueChanged` tells that a `d` marker was consumed (an
   * earlier due time appeared in the scheduled or retry set).
   */
  async dequeue(queue: string, count: number, leaseScore: string): Promise<{ tasks: ClaimedTask[]; dueChanged: boolean }> {
    const k = this.keys(queue);
    const flat = (await this.scripts.run('dequeue', [k.pending, k.tasks, k.active, k.lease, k.paused, k.wake], [
      count,
      leaseScore,
    ])) as (string | number)[];
    const tasks: ClaimedTask[] = [];
    for (let i = 1; i < flat.length; i += 2) tasks.push({ id: flat[i] as string, message: flat[i + 1] as string });
    return { tasks, dueChanged: flat[0] === 1 };
  }

  /**
   * Registers a worker as idle on `queue` until `expiryMs`: an enqueue into the empty queue then hands it a task through
   * the wake set. `member` is `<leaseMs>:<workerId>`. A plain ZADD, sent ahead of a block whenever the worker is not
   * registered yet; the janitor drops registrations that lapsed.
   */
  async joinIdle(queue: string, member: string, expiryMs: number): Promise<void> {
    await this.client.zadd(this.keys(queue).idle, expiryMs, member);
  }

  /** Removes a worker's idle registration (it stopped being idle, or shuts down); a plain ZREM. */
  async leaveIdle(queue: string, member: string): Promise<void> {
    await this.client.zrem(this.keys(queue).idle, member);
  }

  /**
   * Blocks (BZPOPMIN) until a member arrives in one of `keys` (wake keys of one slot): resolves with [key, member, …],
   * or null once `timeoutMs` passed. Meant for a connection of its own: it carries nothing else while blocked. The raw
   * reply on purpose: a hand-off starts its handler from this reply, so nothing sits in between.
   */
  popWake(keys: string[], timeoutMs: number): Promise<[key: string, member: string] | null> {
    const seconds = Math.max(0.01, timeoutMs / 1000).toFixed(3);
    return (this.client as Redis).bzpopmin(...keys, seconds) as Promise<[string, string] | null>;
  }

  /**
   * Ends a worker's own BZPOPMIN by writing to its own wake key (`ownWake`). The key expires in a minute in case the
   * worker dies before {@link clearOwnWake}.
   */
  async wakeOwn(key: string): Promise<void> {
    const replies = (await this.client.pipeline().zadd(key, 0, 'x').pexpire(key, 60_000).exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
  }

  /** Deletes a worker's own wake key. */
  async clearOwnWake(key: string): Promise<void> {
    await this.client.del(key);
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
    return leasedItems(flat);
  }

  /** Every lease of the queue (id and score); the set is small: at most the total concurrency of all workers. */
  async leases(queue: string): Promise<LeasedItem[]> {
    const flat = await this.client.zrange(this.keys(queue).lease, '0', '-1', 'WITHSCORES');
    return leasedItems(flat);
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

  /** Deletes expired completed tasks and old archived ones (and lapsed idle registrations); returns how many tasks. */
  async janitor(queue: string, now: number, batch = 500): Promise<number> {
    const k = this.keys(queue);
    return (await this.scripts.run('janitor', [k.tasks, k.completed, k.archived, k.idle], [now, batch, MAX_ARCHIVE_AGE_MS])) as number;
  }

  /**
   * Cancels a waiting task (or a hand-off no worker popped yet): 'removed', 'active' (caller publishes the cancel), or
   * 'none'.
   */
  async cancel(queue: string, id: string, uniqueKey?: string): Promise<'removed' | 'active' | 'none'> {
    const k = this.keys(queue);
    const keys = [k.tasks, k.pending, k.scheduled, k.retry, k.lease, k.active, k.wake];
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

  /**
   * Finds a task in `queue`, or, without one, in every registered queue (the first in name order wins).
   * Undefined when there is no such task.
   */
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

  /** The unique-lock key named by a stored message, if it has one (a corrupt message has none we can name). */
  uniqueKeyOf(queue: string, message: string): string | undefined {
    try {
      const m = decodeMessage(message);
      return m.uniqueDigest ? this.keys(queue).unique(m.type, m.uniqueDigest) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Marks `id` as awaited, so finishing it publishes on the queue's done channel. */
  async addWaiter(queue: string, id: string): Promise<void> {
    await this.client.sadd(this.keys(queue).waiters, id);
  }

  /** Forgets a waiter (the wait ended another way). */
  async removeWaiter(queue: string, id: string): Promise<void> {
    await this.client.srem(this.keys(queue).waiters, id);
  }

  /**
   * Scheduled → pending, retry → pending, archived → pending. With `rewrite`, the stored message is replaced by
   * `rewrite.next` when it still equals `rewrite.expected` (the inspector resets the ready-at time this way, so queue
   * latency counts from the moment the task was made pending).
   */
  async runTask(queue: string, id: string, rewrite?: { expected: string; next: string }): Promise<number> {
    const k = this.keys(queue);
    const args: ScriptArg[] = rewrite ? [id, rewrite.expected, rewrite.next] : [id];
    return (await this.scripts.run(
      'run-task',
      [k.tasks, k.scheduled, k.retry, k.archived, k.lease, k.pending, k.wake, k.completed, k.active],
      args,
    )) as number;
  }

  /** Pending/scheduled/retry → archived. */
  async archiveTask(queue: string, id: string, now: number): Promise<number> {
    const k = this.keys(queue);
    return (await this.scripts.run(
      'archive-task',
      [k.tasks, k.pending, k.scheduled, k.retry, k.archived, k.lease, k.completed, k.active],
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

  // ---------------------------------------------------------------------------------------------------------------
  // Inspector reads (TaskInspector). Plain read commands, no scripts: each call is a pipeline on one queue (one slot).
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * Reads the sizes, counters and pause flag of a queue in one pipeline of plain commands. Counters are those of the
   * UTC `day` given (`YYYY-MM-DD`). `memoryUsage` is undefined when `MEMORY USAGE` is not available (some managed
   * Redis services disable it).
   */
  async queueSnapshot(queue: string, day: string): Promise<QueueSnapshot> {
    const k = this.keys(queue);
    const replies = (await this.client
      .pipeline()
      .llen(k.pending)
      .scard(k.active)
      .zcard(k.scheduled)
      .zcard(k.retry)
      .zcard(k.archived)
      .zcard(k.completed)
      .get(k.processed)
      .get(k.failed)
      .get(k.processedOn(day))
      .get(k.failedOn(day))
      .get(k.paused)
      .lindex(k.pending, '-1')
      .call('MEMORY', 'USAGE', k.tasks, 'SAMPLES', '5')
      .call('MEMORY', 'USAGE', k.pending, 'SAMPLES', '5')
      .call('MEMORY', 'USAGE', k.scheduled, 'SAMPLES', '5')
      .call('MEMORY', 'USAGE', k.retry, 'SAMPLES', '5')
      .call('MEMORY', 'USAGE', k.archived, 'SAMPLES', '5')
      .call('MEMORY', 'USAGE', k.completed, 'SAMPLES', '5')
      .exec()) ?? [];
    const value = (i: number): unknown => {
      const [err, reply] = replies[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      return reply;
    };
    const count = (i: number): number => Number(value(i) ?? 0) || 0;
    let memoryUsage: number | undefined = 0;
    for (let i = 12; i < 18; i++) {
      const [err, reply] = replies[i] ?? [new Error('no reply'), null];
      if (err) {
        memoryUsage = undefined;
        break;
      }
      memoryUsage += Number(reply ?? 0) || 0;
    }
    const paused = value(10) as string | null;
    const head = value(11) as string | null;
    return {
      pending: count(0),
      active: count(1),
      scheduled: count(2),
      retry: count(3),
      archived: count(4),
      completed: count(5),
      processedTotal: count(6),
      failedTotal: count(7),
      processedToday: count(8),
      failedToday: count(9),
      paused: paused !== null,
      pausedAt: paused !== null && Number.isFinite(Number(paused)) && paused !== '' ? Number(paused) : undefined,
      headId: head ?? undefined,
      memoryUsage,
    };
  }

  /** The id and message of the task at the head of the pending list (the next to be dequeued), if any. */
  async pendingHead(queue: string): Promise<{ id: string; message: string } | undefined> {
    const k = this.keys(queue);
    // The head may be dequeued between the two reads: try again a few times.
    for (let attempt = 0; attempt < 3; attempt++) {
      const id = await this.client.lindex(k.pending, '-1');
      if (id === null) return undefined;
      const message = await this.client.hget(k.tasks, id);
      if (message !== null) return { id, message };
    }
    return undefined;
  }

  /**
   * Lists the tasks of one state, `count` of them starting at offset `start`, in this order: pending from the head
   * (next to run first); active by lease expiry, then active ids without a lease; scheduled and retry by due time;
   * archived most recently archived first; completed by expiry (soonest deleted first). Ids whose record vanished
   * between the two reads (the task moved on or was deleted) are left out.
   */
  async listTasks(queue: string, state: TaskState, start: number, count: number): Promise<ListedTask[]> {
    const k = this.keys(queue);
    const stop = start + count - 1;
    const entries: { id: string; score?: number }[] = [];
    const pushScored = (flat: string[]): void => {
      for (let i = 0; i < flat.length; i += 2) entries.push({ id: flat[i], score: Number(flat[i + 1]) });
    };
    switch (state) {
      case 'pending': {
        // The head is the right end: offsets counted from the right, then reversed into queue order.
        const ids = await this.client.lrange(k.pending, String(-(stop + 1)), String(-(start + 1)));
        for (let i = ids.length - 1; i >= 0; i--) entries.push({ id: ids[i] });
        break;
      }
      case 'active': {
        const replies = (await this.client.pipeline().zrange(k.lease, '0', '-1', 'WITHSCORES').smembers(k.active).exec()) ?? [];
        for (const [err] of replies) if (err) throw err;
        const leased = toStrings(replies[0]?.[1]);
        const all: { id: string; score?: number }[] = [];
        const seen = new Set<string>();
        for (let i = 0; i < leased.length; i += 2) {
          all.push({ id: leased[i], score: Number(leased[i + 1]) });
          seen.add(leased[i]);
        }
        for (const id of toStrings(replies[1]?.[1]).sort()) if (!seen.has(id)) all.push({ id });
        entries.push(...all.slice(start, stop + 1));
        break;
      }
      case 'scheduled':
      case 'retry':
      case 'completed':
        pushScored(await this.client.zrange(k[state], String(start), String(stop), 'WITHSCORES'));
        break;
      case 'archived':
        pushScored(await this.client.zrange(k.archived, String(start), String(stop), 'REV', 'WITHSCORES'));
        break;
    }
    if (entries.length === 0) return [];
    const messages = await this.client.hmget(k.tasks, ...entries.map((e) => e.id));
    const out: ListedTask[] = [];
    entries.forEach((e, i) => {
      const message = messages[i];
      if (message !== null && message !== undefined) out.push({ id: e.id, stored: { message, state, score: e.score } });
    });
    return out;
  }

  // ---- periodic entries (TaskScheduler) ----

  /** Queues that hold periodic entries. */
  cronQueues(): Promise<string[]> {
    return this.client.smembers(this.global.cronQueues);
  }

  /** Registers `queue` as holding periodic entries (and as a queue). Plain SADDs, outside any script. */
  async registerCronQueue(queue: string): Promise<void> {
    await this.client.sadd(this.global.cronQueues, queue);
    await this.client.sadd(this.global.queues, queue);
  }

  /** True when entry `id` is stored in `queue`. */
  async hasCronEntry(queue: string, id: string): Promise<boolean> {
    return (await this.client.hexists(this.keys(queue).cronEntries, id)) === 1;
  }

  /** Creates or updates entry `id`: 0 unchanged, 1 created, 2 updated (scheduler-upsert.lua). */
  async upsertCronEntry(queue: string, id: string, definitionJson: string, now: number): Promise<number> {
    const k = this.keys(queue);
    return (await this.scripts.run('scheduler-upsert', [k.cronEntries, k.cronState], [id, definitionJson, now])) as number;
  }

  /** Removes entry `id`; true when it existed (scheduler-remove.lua). */
  async removeCronEntry(queue: string, id: string): Promise<boolean> {
    const k = this.keys(queue);
    return ((await this.scripts.run('scheduler-remove', [k.cronEntries, k.cronState], [id])) as number) === 1;
  }

  /** The raw definitions and fire states of the queue's entries, by id. */
  async cronEntries(queue: string): Promise<{ definitions: Record<string, string>; states: Record<string, string> }> {
    const k = this.keys(queue);
    const [definitions, states] = await Promise.all([this.client.hgetall(k.cronEntries), this.client.hgetall(k.cronState)]);
    return { definitions, states };
  }

  /**
   * Fires `count` ticks of the queue (compare-and-set plus enqueue, atomically; scheduler-tick.lua documents the
   * `fires` format). Returns one code per fire: 0 fired, -1 stale entry, else the entry's floor (already fired).
   */
  async fireCronTicks(queue: string, count: number, fires: string): Promise<number[]> {
    const k = this.keys(queue);
    const keys = [k.cronEntries, k.cronState, k.tasks, k.pending, k.scheduled, k.wake];
    return ((await this.scripts.run('scheduler-tick', keys, [count, fires])) as (number | string)[]).map(Number);
  }

  /** Tells every scheduler that entries changed. */
  async announceCronChange(): Promise<void> {
    await this.client.publish(this.global.cronChanged, '1');
  }

  /** The Redis server's clock, in ms. */
  async serverTime(): Promise<number> {
    const [sec, usec] = (await this.client.time()) as [string | number, string | number];
    return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  }
}
