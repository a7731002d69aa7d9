import type { TaskState } from '../../task.js';
import type { StoredTask } from '../broker.js';
import type { QueueState } from './queue-state.js';
import type { MemoryStore, Space } from './store.js';

/**
 * What every part of one memory broker shares: the store, the space of its prefix, and the rule every operation
 * follows: it runs whole, at once (as a script runs atomically), and its promise settles after it, on a microtask.
 * Once the broker is closed, operations reject as commands on a closed connection do.
 */
export class MemoryContext {
  readonly space: Space;
  private closed = false;

  constructor(
    readonly store: MemoryStore,
    readonly prefix: string,
  ) {
    this.space = store.space(prefix);
  }

  /** Runs one operation atomically; its result (or error) arrives on a microtask. */
  run<T>(op: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${this.store.url}: the connection is closed`));
    this.store.touch();
    try {
      return Promise.resolve(op());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The structures of `queue`. */
  queue(name: string): QueueState {
    return this.space.queue(name);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
  }
}

/** A task's record and the state its structures give it (task-info.lua). */
export function storedTask(q: QueueState, id: string): StoredTask | undefined {
  const message = q.tasks.get(id);
  if (message === undefined) return undefined;
  const leased = q.lease.score(id);
  if (leased !== undefined || q.active.has(id)) return { message, state: 'active', score: leased };
  for (const state of ['scheduled', 'retry', 'archived', 'completed'] as const satisfies readonly TaskState[]) {
    const score = q[state].score(id);
    if (score !== undefined) return { message, state, score };
  }
  return { message, state: 'pending' };
}
