import type { DoneMessage, LeasedItem } from '../broker.js';
import { PendingList } from './pending-list.js';
import { SortedSet } from './sorted-set.js';

/** What a queue reports to the store around it. */
export interface QueueEvents {
  /** A wake marker was added to the queue: an idle worker may be waiting for it. */
  woke(queue: string): void;
  /** An awaited task finished: announce it on the queue's done channel. */
  done(queue: string, message: DoneMessage): void;
  /** The store's own clock (what Redis times TTLs by), in ms. */
  now(): number;
}

/** A wake marker: pending work appeared (`p`), or a due time earlier than any known one (`d`). */
export type Marker = 'p' | 'd';

type Counter = 'processed' | 'failed';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * One queue's structures, each the in-memory twin of a Redis key of the queue (docs/architecture.md, key schema), and
 * the fragments the Lua scripts share (scripts/includes/): the lease fence, the counters, the done announcements,
 * the wake markers and the unique locks. The operations in this folder compose them exactly as the scripts do.
 */
export class QueueState {
  /** `:t` task id → encoded message. */
  readonly tasks = new Map<string, string>();
  readonly pending = new PendingList();
  readonly active = new Set<string>();
  /** Written by every claim and acknowledgement, read in order by the recoverer now and then: lazy. */
  readonly lease = new SortedSet(true);
  readonly scheduled = new SortedSet();
  readonly retry = new SortedSet();
  readonly archived = new SortedSet();
  readonly completed = new SortedSet();
  /** `:paused`: when it was paused (the value pause.lua writes); undefined while not paused. */
  pausedAt?: number;
  readonly markers = new Set<Marker>();
  readonly waiters = new Set<string>();
  readonly cron = new Map<string, string>();
  readonly cronState = new Map<string, string>();
  /** `:wfrelay`: finished workflow tasks not yet applied to their workflow → finished-at ms (workflow/relay.ts). */
  readonly relay = new SortedSet();
  private readonly totals: Record<Counter, number> = { processed: 0, failed: 0 };
  private readonly daily: Record<Counter, Map<string, Expiring<number>>> = {
    processed: new Map(),
    failed: new Map(),
  };
  /** `:u:<type>:<digest>` → owning task id, with its PX expiry. */
  private readonly locks = new Map<string, Expiring<string>>();

  constructor(
    readonly name: string,
    private readonly events: QueueEvents,
  ) {}

  /** Which of `items` this worker still holds: the lease score is exactly the one given (lease-fence.lua). */
  fence<T extends LeasedItem>(items: readonly T[]): { owned: T[]; lost: string[] } {
    const owned: T[] = [];
    const lost: string[] = [];
    for (const item of items) {
      const held = this.lease.score(item.id);
      if (held !== undefined && held === Number(item.leaseScore)) owned.push(item);
      else lost.push(item.id);
    }
    return { owned, lost };
  }

  /** Adds `count` to the all-time and daily counter; a daily counter created now expires at `expireAt` (counters.lua). */
  bump(counter: Counter, count: number, day: string, expireAt: number): void {
    this.totals[counter] += count;
    const days = this.daily[counter];
    const current = this.live(days, day);
    if (current) current.value += count;
    else days.set(day, { value: count, expiresAt: expireAt });
  }

  /** The all-time counter. */
  total(counter: Counter): number {
    return this.totals[counter];
  }

  /** The counter of a UTC day (0 once it expired). */
  onDay(counter: Counter, day: string): number {
    return this.live(this.daily[counter], day)?.value ?? 0;
  }

  /** Announces finished tasks that someone awaits and forgets their waiters (done.lua). */
  announce(ids: readonly string[], state: DoneMessage['state'], data: readonly unknown[]): void {
    if (this.waiters.size === 0) return;
    ids.forEach((id, i) => {
      if (!this.waiters.delete(id)) return;
      this.events.done(this.name, { id, state, data: data[i] });
    });
  }

  /** Pending work appeared (wake.lua: wake_pending). */
  wakePending(): void {
    this.mark('p');
  }

  /** `d` when `minDue` is now the earliest due time of `set` (wake.lua: wake_if_earliest). */
  wakeIfEarliest(set: SortedSet, minDue: number): void {
    const first = set.first();
    if (first && first.score >= minDue) this.mark('d');
  }

  /** Takes a marker, the lowest first as BZPOPMIN does (`d` before `p`). */
  takeMarker(): Marker | undefined {
    for (const kind of ['d', 'p'] as const) if (this.markers.delete(kind)) return kind;
    return undefined;
  }

  /** The task holding a unique lock, while the lock lives. */
  lockOwner(key: string): string | undefined {
    return this.live(this.locks, key)?.value;
  }

  /** SET NX PX: takes the lock for `owner` unless another holds it; true when taken. */
  takeLock(key: string, owner: string, ttlMs: number): boolean {
    if (this.live(this.locks, key)) return false;
    this.locks.set(key, { value: owner, expiresAt: this.events.now() + ttlMs });
    return true;
  }

  /** Frees a lock if `id` owns it (the scripts' `GET == id then DEL`). */
  releaseLock(key: string | undefined, id: string): void {
    if (key !== undefined && this.lockOwner(key) === id) this.locks.delete(key);
  }

  /** Forgets expired locks and counters (Redis expires keys by itself; here the janitor's rounds do). */
  sweep(): void {
    for (const map of [this.locks, this.daily.processed, this.daily.failed] as Map<string, Expiring<unknown>>[]) {
      for (const key of [...map.keys()]) this.live(map, key);
    }
  }

  /**
   * Deletes every task that is not running, with the unique locks and counters; running tasks, periodic entries and
   * the pause flag stay (the testing kit's `clear()`).
   */
  clearWaiting(): void {
    for (const id of [...this.tasks.keys()]) if (!this.active.has(id)) this.tasks.delete(id);
    for (const id of [...this.waiters]) if (!this.active.has(id)) this.waiters.delete(id);
    for (const set of [this.scheduled, this.retry, this.archived, this.completed, this.relay]) set.clear();
    this.pending.clear();
    this.markers.clear();
    this.locks.clear();
    this.totals.processed = 0;
    this.totals.failed = 0;
    this.daily.processed.clear();
    this.daily.failed.clear();
  }

  /** True when the queue holds nothing at all (as if none of its keys existed). */
  get isEmpty(): boolean {
    return (
      this.tasks.size === 0 &&
      this.pending.size === 0 &&
      this.active.size === 0 &&
      this.lease.size === 0 &&
      this.scheduled.size === 0 &&
      this.retry.size === 0 &&
      this.archived.size === 0 &&
      this.completed.size === 0 &&
      this.pausedAt === undefined &&
      this.markers.size === 0 &&
      this.waiters.size === 0 &&
      this.cron.size === 0 &&
      this.cronState.size === 0 &&
      this.relay.size === 0 &&
      this.totals.processed === 0 &&
      this.totals.failed === 0 &&
      this.locks.size === 0
    );
  }

  private mark(kind: Marker): void {
    this.markers.add(kind);
    this.events.woke(this.name);
  }

  private live<T>(map: Map<string, Expiring<T>>, key: string): Expiring<T> | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= this.events.now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }
}

/** The unique-lock key of (type, digest) within a queue. */
export const lockKey = (lock: { type: string; digest: string } | undefined): string | undefined =>
  lock && `${lock.type}:${lock.digest}`;
