import { decodeMessage, encodeMessage } from '../core/broker/codec.js';
import { storedTask } from '../core/broker/memory/context.js';
import { createMemoryStore, findMemoryStore, isMemoryConnection } from '../core/broker/memory/registry.js';
import type { MemoryStore, StoreRecorder } from '../core/broker/memory/store.js';
import { SimulatedClock } from '../core/clock.js';
import type { StoredTask } from '../core/broker/broker.js';
import { CorruptTaskError } from '../core/errors.js';

/** A task as an enqueue or a periodic tick stored it. */
export interface EnqueuedRecord {
  queue: string;
  id: string;
  stored: StoredTask;
}

let created = 0;
const kits = new WeakMap<MemoryStore, KitStore>();

/**
 * The in-memory store of one test app, as the testing kit runs it: its own SimulatedClock, pickup held except while
 * `drain()` runs, and a record of what was enqueued and of tasks deleted on completion (Redis would simply forget
 * them; a test wants to read their result).
 */
export class KitStore implements StoreRecorder {
  private readonly log: EnqueuedRecord[] = [];
  /** The last form of tasks deleted on completion, by id. */
  private readonly finished = new Map<string, { queue: string; message: string }>();

  private constructor(
    readonly store: MemoryStore,
    readonly clock: SimulatedClock,
  ) {
    store.hold();
    store.recorder = this;
    kits.set(store, this);
  }

  /** A store under a fresh name (`memory://taskq-testing-<n>`), on `clock` or a new SimulatedClock set to now. */
  static create(clock: SimulatedClock = new SimulatedClock()): KitStore {
    return new KitStore(createMemoryStore(`taskq-testing-${process.pid}-${++created}`, clock), clock);
  }

  /** The kit store a connection option names, if it is one. */
  static of(connection: unknown): KitStore | undefined {
    if (!isMemoryConnection(connection)) return undefined;
    try {
      const store = findMemoryStore(connection);
      return store && kits.get(store);
    } catch {
      return undefined;
    }
  }

  /** What was enqueued (and fired by periodic ticks), in order, as it was stored then. */
  get enqueued(): readonly EnqueuedRecord[] {
    return this.log;
  }

  /** A task as it is stored now, or as it completed if it was deleted then. */
  find(id: string): EnqueuedRecord | undefined {
    for (const space of this.store.allSpaces()) {
      for (const [queue, q] of space.queues) {
        const stored = storedTask(q, id);
        if (stored) return { queue, id, stored };
      }
    }
    const done = this.finished.get(id);
    return done && { queue: done.queue, id, stored: { message: done.message, state: 'completed' } };
  }

  /** Forgets what was enqueued and deletes every task that is not running (periodic entries stay). */
  clear(): void {
    this.log.length = 0;
    this.finished.clear();
    for (const space of this.store.allSpaces()) for (const q of space.queues.values()) q.clearWaiting();
  }

  stored(_prefix: string, queue: string, id: string, message: string, state: 'pending' | 'scheduled'): void {
    let score: number | undefined;
    if (state === 'scheduled') {
      try {
        score = decodeMessage(message).readyAt;
      } catch (err) {
        if (!(err instanceof CorruptTaskError)) throw err;
      }
    }
    this.log.push({ queue, id, stored: { message, state, score } });
  }

  deleted(_prefix: string, queue: string, id: string, message: string, resultJson: string, at: number): void {
    try {
      const m = decodeMessage(message);
      const result = resultJson === '' ? undefined : (JSON.parse(resultJson) as unknown);
      this.finished.set(id, { queue, message: encodeMessage({ ...m, completedAt: at, result }) });
    } catch (err) {
      if (!(err instanceof CorruptTaskError)) throw err;
    }
  }
}
