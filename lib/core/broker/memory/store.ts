import type { Clock } from '../../clock.js';
import type { DoneMessage } from '../broker.js';
import { QueueState, type Marker, type QueueEvents } from './queue-state.js';
import { SortedSet } from './sorted-set.js';
import type { WorkflowState } from './workflow-state.js';

/** An idle worker waiting on its queues' wake markers (the twin of a blocked BZPOPMIN). */
export interface Sleeper {
  readonly queues: readonly string[];
  /** Receives the marker taken for it. */
  wake(queue: string, marker: Marker): void;
}

/** Cross-process notifications of one prefix, by channel. */
export interface Channels {
  cancel: [queue: string, id: string];
  done: [queue: string, message: DoneMessage];
  cron: [];
  workflowDone: [id: string, state: string];
}

type Listener<K extends keyof Channels> = (...args: Channels[K]) => void;

/**
 * What the testing kit observes in a store (`nestjs-taskq/testing`): every task stored by an enqueue or a periodic
 * tick, and the last form of a task deleted on completion (no retention), which Redis would simply forget.
 */
export interface StoreRecorder {
  /** A task was stored by an enqueue or a periodic tick. */
  stored(prefix: string, queue: string, id: string, message: string, state: 'pending' | 'scheduled'): void;
  /** A task completed without retention and was deleted; `message` is what it was, `resultJson` its result. */
  deleted(prefix: string, queue: string, id: string, message: string, resultJson: string, at: number): void;
}

/**
 * Everything under one key prefix of a store: the queues, the queue registries, the channels and the idle workers.
 * Prefixes of one store are as separate as two prefixes on one Redis.
 */
export class Space {
  readonly queues = new Map<string, QueueState>();
  /** `<prefix>:queues`. */
  readonly registry = new Set<string>();
  /** `<prefix>:cron:queues`. */
  readonly cronQueues = new Set<string>();
  /** `<prefix>:{w:<id>}:*`, by workflow id. */
  readonly workflows = new Map<string, WorkflowState>();
  /** `<prefix>:workflows`: workflow id → created ms. */
  readonly workflowIndex = new SortedSet();
  /** `<prefix>:workflows:due`: workflow id → when the recovery round looks at it. */
  readonly workflowsDue = new SortedSet();
  private readonly listeners: { [K in keyof Channels]: Set<Listener<K>> } = {
    cancel: new Set(),
    done: new Set(),
    cron: new Set(),
    workflowDone: new Set(),
  };
  private readonly sleepers: Sleeper[] = [];
  private readonly events: QueueEvents;

  constructor(
    readonly prefix: string,
    readonly store: MemoryStore,
  ) {
    this.events = {
      woke: (queue) => this.wakeOne(queue),
      done: (queue, message) => this.publish('done', queue, message),
      now: () => store.clock.now(),
    };
  }

  /** A queue's structures (created on first use, as Redis creates keys on write). */
  queue(name: string): QueueState {
    let q = this.queues.get(name);
    if (!q) {
      q = new QueueState(name, this.events);
      this.queues.set(name, q);
    }
    return q;
  }

  /** Delivers a message to the subscribers of `channel`, after the current operation, as Redis pub/sub does. */
  publish<K extends keyof Channels>(channel: K, ...args: Channels[K]): void {
    const listeners = [...this.listeners[channel]];
    if (listeners.length === 0) return;
    queueMicrotask(() => {
      for (const listener of listeners) listener(...args);
    });
  }

  subscribe<K extends keyof Channels>(channel: K, listener: Listener<K>): void {
    this.listeners[channel].add(listener);
  }

  unsubscribe<K extends keyof Channels>(channel: K, listener: Listener<K>): void {
    this.listeners[channel].delete(listener);
  }

  /**
   * Blocks a sleeper on its queues: takes a marker at once if one waits (the queues in order, lowest marker first);
   * else it is woken by the next marker of one of its queues, sleepers served in the order they blocked.
   * @returns true when it was woken at once
   */
  sleep(sleeper: Sleeper): boolean {
    for (const name of sleeper.queues) {
      const marker = this.queues.get(name)?.takeMarker();
      if (marker) {
        sleeper.wake(name, marker);
        return true;
      }
    }
    this.sleepers.push(sleeper);
    return false;
  }

  /** Stops a sleeper's wait (it timed out or closed). */
  unblock(sleeper: Sleeper): void {
    const i = this.sleepers.indexOf(sleeper);
    if (i >= 0) this.sleepers.splice(i, 1);
  }

  /** Forgets finished workflows whose retention ran out (Redis expires their keys by itself). */
  sweepWorkflows(): void {
    const now = this.store.clock.now();
    for (const [id, w] of this.workflows)
      if (w.expiresAt !== undefined && w.expiresAt <= now) this.workflows.delete(id);
  }

  /** True when nothing is stored under the prefix (as if it had no key). */
  get isEmpty(): boolean {
    if (this.registry.size > 0 || this.cronQueues.size > 0) return false;
    if (this.workflows.size > 0 || this.workflowIndex.size > 0 || this.workflowsDue.size > 0) return false;
    for (const q of this.queues.values()) if (!q.isEmpty) return false;
    return true;
  }

  private wakeOne(queue: string): void {
    const i = this.sleepers.findIndex((s) => s.queues.includes(queue));
    if (i < 0) return;
    const marker = this.queues.get(queue)?.takeMarker();
    if (!marker) return;
    const [sleeper] = this.sleepers.splice(i, 1);
    sleeper.wake(queue, marker);
  }
}

/**
 * An in-memory store: what one Redis server is to the Redis backend. Every broker opened on `memory://NAME` in this
 * process shares the store of that name. It keeps its own clock for what Redis times by its own (unique-lock TTLs,
 * counter expiry, TIME); the operations take the engine's `now` wherever the scripts do.
 */
export class MemoryStore {
  private readonly spaces = new Map<string, Space>();
  private heldPickup = false;
  private ops = 0;
  /** Set by the testing kit. */
  recorder?: StoreRecorder;

  constructor(
    /** The store's name: `memory://<name>`. */
    readonly name: string,
    /** The store's own clock (the system clock unless the store was created with another). */
    readonly clock: Clock,
  ) {}

  /** The connection string of the store. */
  get url(): string {
    return `memory://${this.name}`;
  }

  /** How many operations ran on the store so far (the testing kit waits until it stops moving). */
  get activity(): number {
    return this.ops;
  }

  /** Counts an operation. */
  touch(): void {
    this.ops++;
  }

  /** The space of a key prefix. */
  space(prefix: string): Space {
    let space = this.spaces.get(prefix);
    if (!space) {
      space = new Space(prefix, this);
      this.spaces.set(prefix, space);
    }
    return space;
  }

  /** Every prefix's space that exists. */
  allSpaces(): IterableIterator<Space> {
    return this.spaces.values();
  }

  /**
   * True while pickup is held: dequeues claim nothing, as if every queue were paused (the testing kit runs tasks only
   * inside `drain()`). Nothing else changes: enqueues, forwards and periodic ticks go on.
   */
  get held(): boolean {
    return this.heldPickup;
  }

  /** Holds pickup (see {@link held}). */
  hold(): void {
    this.heldPickup = true;
  }

  /** Resumes pickup and wakes idle workers where tasks wait, as unpause.lua does for one queue. */
  release(): void {
    this.heldPickup = false;
    for (const space of this.spaces.values()) {
      for (const q of space.queues.values()) if (q.pending.size > 0) q.wakePending();
    }
  }
}
