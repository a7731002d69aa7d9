import type { StoredTask } from './broker/broker.js';
import { decodeMessage, encodeMessage } from './broker/codec.js';
import { taskOpError, type TaskOpOutcome } from './broker/script-codes.js';
import { systemClock, utcDay, type Clock } from './clock.js';
import { CorruptTaskError, InvalidOptionError, TaskNotFoundError } from './errors.js';
import { TaskqLifecycle, type BrokerInternals } from './lifecycle.js';
import { validateQueueName, type TaskqOptions } from './options.js';
import { TASK_STATES, type TaskInfo, type TaskState } from './task.js';
import { toTaskInfo } from './task-info.js';
import { uniqueLockOf } from './unique-lock.js';
import { relayForRemoval } from './workflow/relay.js';
import { validateTaskId } from './validate.js';
import type { WorkflowInfo, WorkflowState } from './workflow/types.js';
import { toWorkflowInfo } from './workflow/workflow-info.js';

/** A snapshot of one queue, as {@link TaskInspector.queueInfo} reports it. */
export interface QueueInfo {
  /** The queue name. */
  queue: string;
  /** Every task the queue holds: pending + active + scheduled + retry + archived + completed. */
  size: number;
  /** Tasks waiting to be picked up. */
  pending: number;
  /** Tasks claimed by a worker. */
  active: number;
  /** Tasks waiting for their `processAt` time. */
  scheduled: number;
  /** Failed tasks waiting for their next attempt. */
  retry: number;
  /** Tasks that failed for good (retries exhausted, SkipRetryError, canceled) or were archived by hand. */
  archived: number;
  /** Completed tasks kept for their `retention`. */
  completed: number;
  /** Attempts that finished today (UTC), successful or not. */
  processed: number;
  /** Attempts that failed today (UTC). */
  failed: number;
  /** Attempts that finished, all time. */
  processedTotal: number;
  /** Attempts that failed, all time. */
  failedTotal: number;
  /** True while the queue is paused (workers do not pick its tasks up). */
  paused: boolean;
  /** When the queue was paused, while it is. */
  pausedAt?: Date;
  /**
   * Milliseconds since the oldest pending task (the head of the queue, next to run) became ready; 0 when nothing is
   * pending.
   */
  latency: number;
  /**
   * Approximate bytes the queue's task records and state structures use in Redis (`MEMORY USAGE` with sampling);
   * absent when the server does not allow `MEMORY USAGE`.
   */
  memoryUsage?: number;
  /** When this snapshot was taken. */
  timestamp: Date;
}

/** Which page of tasks {@link TaskInspector.listTasks} returns. */
export interface ListTasksPage {
  /** The page number, 1-based. @defaultValue 1 */
  page?: number;
  /** Tasks per page, 1 to 1000. @defaultValue 30 */
  size?: number;
}

/** Default page size of {@link TaskInspector.listTasks}. */
export const DEFAULT_PAGE_SIZE = 30;
/** Largest page size of {@link TaskInspector.listTasks}. */
export const MAX_PAGE_SIZE = 1000;

/** Options of a {@link TaskInspector}. */
export interface InspectorOptions extends TaskqOptions {
  /** Source of time (for latency and the day of the daily counters). @defaultValue the store's clock for an in-memory store, else the system clock */
  clock?: Clock;
}

interface Located {
  queue: string;
  stored: StoredTask;
}

/**
 * Reads and manages queues and tasks: sizes and counters, task lists by state, and the inspector's state
 * transitions (run now, archive, delete, pause). Mirrors Asynq's `Inspector`.
 *
 * Methods that take an optional `queue` search every registered queue when it is omitted (ids are unique within a
 * queue; when the same id exists in several queues, the first queue in name order wins).
 *
 * @example
 * ```ts
 * const inspector = new TaskInspector({ connection: 'redis://127.0.0.1:6379' });
 * const info = await inspector.queueInfo('default');
 * const failed = await inspector.listTasks('default', 'archived', { page: 1, size: 20 });
 * for (const task of failed) await inspector.runTask(task.id, 'default');
 * await inspector.close();
 * ```
 */
export class TaskInspector extends TaskqLifecycle {
  private readonly clock: Clock;

  /**
   * Creates an inspector. It connects lazily like ioredis does; a connection instance you pass in is used as it is
   * and never closed by {@link close}.
   * @throws InvalidOptionError for an invalid prefix.
   */
  constructor(options: InspectorOptions & BrokerInternals = {}) {
    super(options, 'TaskInspector', 'taskq:inspector');
    this.clock = options.clock ?? this.broker.clock ?? systemClock;
  }

  /** Every registered queue name (every queue a task was ever enqueued to or a worker served), sorted. */
  async queues(): Promise<string[]> {
    this.assertOpen();
    return this.broker.producer.queues();
  }

  /**
   * Sizes per state, processed/failed counts of today (UTC) and in total, the pause flag and the latency of a queue.
   * A queue that holds nothing reports zeros.
   * @throws InvalidOptionError for an invalid queue name.
   */
  async queueInfo(queue: string): Promise<QueueInfo> {
    this.assertOpen();
    validateQueueName(queue);
    const now = this.clock.now();
    const snap = await this.broker.inspect.queueSnapshot(queue, utcDay(now));
    let latency = 0;
    if (snap.pending > 0) {
      let head = snap.headId !== undefined ? (await this.broker.worker.messages(queue, [snap.headId]))[0] : undefined;
      if (head === undefined) head = (await this.broker.inspect.pendingHead(queue))?.message;
      if (head !== undefined) {
        try {
          latency = Math.max(0, now - decodeMessage(head).readyAt);
        } catch (err) {
          if (!(err instanceof CorruptTaskError)) throw err;
          // A corrupt head has no ready-at time; the worker archives it when it gets to it.
        }
      }
    }
    const info: QueueInfo = {
      queue,
      size: snap.pending + snap.active + snap.scheduled + snap.retry + snap.archived + snap.completed,
      pending: snap.pending,
      active: snap.active,
      scheduled: snap.scheduled,
      retry: snap.retry,
      archived: snap.archived,
      completed: snap.completed,
      processed: snap.processedToday,
      failed: snap.failedToday,
      processedTotal: snap.processedTotal,
      failedTotal: snap.failedTotal,
      paused: snap.paused,
      latency,
      timestamp: new Date(now),
    };
    if (snap.pausedAt !== undefined) info.pausedAt = new Date(snap.pausedAt);
    if (snap.memoryUsage !== undefined) info.memoryUsage = snap.memoryUsage;
    return info;
  }

  /**
   * Lists the tasks of a queue in one state, a page at a time (pages are 1-based; default page 1 of 30 tasks). Order:
   * - `pending`: queue order, the next task to run first;
   * - `active`: by lease expiry (the longest-running first), then active tasks without a lease;
   * - `scheduled`, `retry`: by due time, soonest first;
   * - `archived`: most recently archived first;
   * - `completed`: by expiry of their retention, soonest first.
   *
   * A page is read in two round trips; a task that changes state in between is listed in the state asked for, and
   * one deleted in between is left out (so a page can hold fewer tasks than `size`).
   * @throws InvalidOptionError for an invalid queue name, state, page or size.
   */
  async listTasks(queue: string, state: TaskState, page: ListTasksPage = {}): Promise<TaskInfo[]> {
    this.assertOpen();
    validateQueueName(queue);
    validateState(state);
    if (typeof page !== 'object' || page === null) throw new InvalidOptionError('page', 'expected { page?, size? }');
    const { start, size } = resolvePage(page);
    const listed = await this.broker.inspect.listTasks(queue, state, start, size);
    return listed.map((t) => toTaskInfo(queue, t.id, t.stored, this.codec));
  }

  /**
   * Reads a task (from `queue`, or searching every registered queue). Null when there is no such task.
   * @throws InvalidOptionError for an invalid id or queue name.
   */
  async getTask(id: string, queue?: string): Promise<TaskInfo | null> {
    this.assertOpen();
    const found = await this.locate(id, queue);
    return found ? toTaskInfo(found.queue, id, found.stored, this.codec) : null;
  }

  /**
   * Makes a scheduled, retry or archived task pending now (it goes to the back of the queue). Its retry count is
   * kept; queue latency counts from now.
   * @throws TaskNotFoundError when there is no such task.
   * @throws InvalidStateError when the task is pending, active or completed.
   * @throws InvalidOptionError for an invalid id or queue name.
   */
  async runTask(id: string, queue?: string): Promise<void> {
    this.assertOpen();
    const found = await this.locate(id, queue);
    if (!found) throw new TaskNotFoundError(id, queue);
    let rewrite: { expected: string; next: string } | undefined;
    try {
      const m = decodeMessage(found.stored.message);
      rewrite = { expected: found.stored.message, next: encodeMessage({ ...m, readyAt: this.clock.now() }) };
    } catch {
      // a corrupt record moves as it is; the worker archives it with the reason
    }
    const code = await this.broker.inspect.runTask(found.queue, id, rewrite);
    this.check(code, 'runTask', id, found.queue, 'scheduled, retry or archived');
  }

  /**
   * Archives a pending, scheduled or retry task (it stays inspectable and can be run again with {@link runTask}).
   * @throws TaskNotFoundError when there is no such task.
   * @throws InvalidStateError when the task is active, already archived or completed.
   * @throws InvalidOptionError for an invalid id or queue name.
   */
  async archiveTask(id: string, queue?: string): Promise<void> {
    this.assertOpen();
    const found = await this.locate(id, queue);
    if (!found) throw new TaskNotFoundError(id, queue);
    const code = await this.broker.inspect.archiveTask(
      found.queue,
      id,
      this.clock.now(),
      relayForRemoval(id, found.stored.message, 'a', `task "${id}" was archived by hand`),
    );
    this.check(code, 'archiveTask', id, found.queue, 'pending, scheduled or retry');
  }

  /**
   * Deletes a task in any state but active, and frees its unique lock (so the same task can be enqueued again).
   * Cancel an active task with `TaskClient.cancel` instead.
   * @throws TaskNotFoundError when there is no such task.
   * @throws InvalidStateError when the task is active.
   * @throws InvalidOptionError for an invalid id or queue name.
   */
  async deleteTask(id: string, queue?: string): Promise<void> {
    this.assertOpen();
    const found = await this.locate(id, queue);
    if (!found) throw new TaskNotFoundError(id, queue);
    const code = await this.broker.inspect.deleteTask(found.queue, id, {
      now: this.clock.now(),
      unique: uniqueLockOf(found.stored.message),
      relay: relayForRemoval(id, found.stored.message, 'x', `task "${id}" was deleted`),
    });
    this.check(code, 'deleteTask', id, found.queue, 'pending, scheduled, retry, archived or completed');
  }

  /**
   * Lists workflows, newest first, a page at a time (1-based; default page 1 of 30), with each one's tasks and their
   * states. With `state`, only the workflows of the page in that state are returned (so a page can hold fewer).
   * Workflows whose records expired after their retention are dropped from the index as they are met.
   * @throws InvalidOptionError for an invalid page, size or state.
   */
  async workflows(page: ListTasksPage & { state?: WorkflowState } = {}): Promise<WorkflowInfo[]> {
    this.assertOpen();
    const { start, size } = resolvePage(page);
    if (page.state !== undefined && !WORKFLOW_STATES.includes(page.state)) {
      throw new InvalidOptionError(
        'state',
        `got ${JSON.stringify(page.state)}; expected one of ${WORKFLOW_STATES.join(', ')}`,
      );
    }
    const { ids } = await this.broker.workflow.list(start, size);
    const stored = await Promise.all(ids.map((id) => this.broker.workflow.read(id)));
    await this.broker.workflow.forget(ids.filter((_, i) => stored[i] === undefined));
    const infos = await Promise.all(
      ids.flatMap((id, i) => {
        const s = stored[i];
        return s ? [toWorkflowInfo(id, s, this.broker.producer)] : [];
      }),
    );
    return page.state === undefined ? infos : infos.filter((w) => w.state === page.state);
  }

  /**
   * Pauses a queue: workers stop picking its tasks up (running ones finish); enqueueing goes on. Pausing a paused
   * queue does nothing. The queue need not exist yet.
   * @throws InvalidOptionError for an invalid queue name.
   */
  async pauseQueue(queue: string): Promise<void> {
    this.assertOpen();
    validateQueueName(queue);
    await this.broker.inspect.pause(queue, this.clock.now());
  }

  /**
   * Resumes a paused queue; idle workers are woken at once when tasks are waiting. Unpausing a queue that is not
   * paused does nothing.
   * @throws InvalidOptionError for an invalid queue name.
   */
  async unpauseQueue(queue: string): Promise<void> {
    this.assertOpen();
    validateQueueName(queue);
    await this.broker.inspect.unpause(queue);
  }

  /** Closes the connection the inspector created (never one you passed in). Later calls throw ClosedError. */
  async close(): Promise<void> {
    if (this.markClosed()) await this.closeBroker();
  }

  private async locate(id: string, queue?: string): Promise<Located | undefined> {
    validateTaskId(id);
    if (queue !== undefined) validateQueueName(queue);
    return this.broker.producer.locate(id, queue);
  }

  /** Throws the typed error a transition's code stands for (script-codes.ts). */
  private check(code: TaskOpOutcome, op: string, id: string, queue: string, allowed: string): void {
    const error = taskOpError(code, op, id, queue, allowed);
    if (error) throw error;
  }
}

function validateState(state: unknown): TaskState {
  if (typeof state !== 'string' || !(TASK_STATES as readonly string[]).includes(state)) {
    throw new InvalidOptionError('state', `got ${JSON.stringify(state)}; expected one of ${TASK_STATES.join(', ')}`);
  }
  return state as TaskState;
}

const WORKFLOW_STATES: readonly WorkflowState[] = ['running', 'completed', 'failed', 'canceled'];

/** Validates a page request. @throws InvalidOptionError */
function resolvePage(page: ListTasksPage): { start: number; size: number } {
  if (typeof page !== 'object' || page === null) throw new InvalidOptionError('page', 'expected { page?, size? }');
  const pageNo = page.page ?? 1;
  const size = page.size ?? DEFAULT_PAGE_SIZE;
  if (typeof pageNo !== 'number' || !Number.isInteger(pageNo) || pageNo < 1) {
    throw new InvalidOptionError(
      'page',
      `got ${String(pageNo)}; expected an integer of at least 1 (pages are 1-based)`,
    );
  }
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new InvalidOptionError('size', `got ${String(size)}; expected an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  const start = (pageNo - 1) * size;
  if (!Number.isSafeInteger(start + size))
    throw new InvalidOptionError('page', `got ${pageNo}; the page is out of range`);
  return { start, size };
}
