import { DrainLimitError, InvalidOptionError } from '../core/errors.js';
import type { Task } from '../core/task.js';
import type { TaskWorker } from '../core/worker.js';
import type { TaskqServer } from '../nest/taskq.server.js';
import type { KitStore } from './kit-store.js';
import { settleStore } from './settle.js';

/** One attempt that `drain()` ran, and how it ended. */
export interface DrainedTask {
  id: string;
  type: string;
  queue: string;
  /** The payload the handler received (decoded). */
  payload: unknown;
  headers: Record<string, string>;
  /** How many times the task had been retried before this attempt. */
  retried: number;
  /** `completed`; `retry` (it failed and comes back after its retry delay: `advance()`); `archived`. */
  state: 'completed' | 'retry' | 'archived';
  /** The handler's result, when completed. */
  result?: unknown;
  /** Why it failed (as the retry logic saw it: e.g. NoHandlerError, an RpcException's message), when it did. */
  error?: Error;
}

/** Options of `drain()`. */
export interface DrainOptions {
  /**
   * The most tasks one drain runs; past it the drain stops with DrainLimitError (a handler that enqueues tasks
   * without end would otherwise run forever).
   * @defaultValue 1000
   */
  maxTasks?: number;
}

/** Default {@link DrainOptions.maxTasks}. */
export const DEFAULT_MAX_DRAIN_TASKS = 1000;

/**
 * Runs ready tasks on a kit store through an app's TaskqServer: opens the store's pickup, lets the worker run until no
 * served queue has a ready task and nothing runs, and holds pickup again. Records every finished attempt from the
 * server's events.
 */
export class Drainer {
  private readonly runs: DrainedTask[] = [];
  private limit?: { from: number; max: number };

  constructor(
    private readonly kit: KitStore,
    server: TaskqServer | undefined,
  ) {
    server?.on('completed', (task, result) => this.record(task, { state: 'completed', result }));
    server?.on('failed', (task, error, willRetry) =>
      this.record(task, { state: willRetry ? 'retry' : 'archived', error }),
    );
  }

  /** Runs what is ready; see `TaskqTestHarness.drain`. `server` must be listening. */
  async drain(server: TaskqServer, options: DrainOptions): Promise<DrainedTask[]> {
    const maxTasks = options.maxTasks ?? DEFAULT_MAX_DRAIN_TASKS;
    if (!Number.isSafeInteger(maxTasks) || maxTasks < 1) {
      throw new InvalidOptionError('maxTasks', `got ${String(maxTasks)}; expected a positive integer`);
    }
    const served = server.unwrap<TaskWorker>().options.queues.map((q) => q.name);
    const { store, clock } = this.kit;
    const from = this.runs.length;
    this.limit = { from, max: maxTasks };
    store.release();
    try {
      for (;;) {
        await settleStore(store, clock);
        if (!this.hasWork(served)) break;
        // Settled while a handler still runs: it waits on something outside the engine (real I/O, a timer).
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } finally {
      store.hold();
      this.limit = undefined;
    }
    const ran = this.runs.slice(from);
    if (ran.length > maxTasks) throw new DrainLimitError(maxTasks, countTypes(ran));
    return ran;
  }

  /** Forgets the attempts recorded so far. */
  clear(): void {
    this.runs.length = 0;
  }

  private record(task: Task, outcome: Pick<DrainedTask, 'state' | 'result' | 'error'>): void {
    const { id, type, queue, payload, headers, retried } = task;
    this.runs.push({ id, type, queue, payload, headers, retried, ...outcome });
    // Past the limit nothing new starts; the attempts already running finish.
    if (this.limit && this.runs.length - this.limit.from > this.limit.max) this.kit.store.hold();
  }

  /** True while a task runs, or a served queue that is not paused has pending tasks (and pickup is open). */
  private hasWork(served: readonly string[]): boolean {
    const { store } = this.kit;
    for (const space of store.allSpaces()) {
      for (const [name, q] of space.queues) {
        if (q.active.size > 0) return true;
        if (!store.held && q.pending.size > 0 && q.pausedAt === undefined && served.includes(name)) return true;
      }
    }
    return false;
  }
}

/** The task types of `runs` with their counts, the most frequent first. */
function countTypes(runs: readonly DrainedTask[]): { type: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return [...counts].map(([type, count]) => ({ type, count })).sort((a, b) => b.count - a.count);
}
