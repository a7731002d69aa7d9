import type { Clock } from '../clock.js';
import type { TaskState } from '../task.js';
import type { EnqueueOutcome, TaskOpOutcome, TickCode } from './script-codes.js';

/**
 * The broker: every operation the engine performs on its store, behind one interface. The engine (client, worker,
 * scheduler, inspector and their components) depends on this and nothing below it. `RedisBroker` implements it over
 * Redis (one atomic script per state transition); the in-memory backend is the second implementation, and a test
 * double that injects faults wraps any part.
 *
 * The operations are split by audience into parts over one shared connection, as asynq splits rdb.go and
 * inspect.go: {@link ProducerOps} (clients, and the reads the inspector shares), {@link WorkerOps} (the worker's
 * background jobs), {@link InspectOps} (inspection and admin), {@link PeriodicOps} (periodic entries) and
 * {@link NotificationOps} (cross-process notifications), plus the connection lifecycle. Components receive only the
 * slice they need (a `Pick` of a part in their params object, as asynq's components receive forwarderParams).
 */
export interface Broker extends BrokerLifecycle {
  readonly producer: ProducerOps;
  readonly worker: WorkerOps;
  readonly inspect: InspectOps;
  readonly periodic: PeriodicOps;
  readonly workflow: WorkflowOps;
  readonly notify: NotificationOps;
}

/** Connection status, as Nest's transports report it. */
export type BrokerStatus = 'connected' | 'reconnecting' | 'disconnected';

/** The broker's events. */
export interface BrokerEvents {
  /** The command connection's status changed. `connected` after `reconnecting` means a reconnect. */
  status: [status: BrokerStatus];
  /** A connection error (the connection retries by itself). */
  error: [error: Error];
}

/** Connecting, status and closing. */
export interface BrokerLifecycle {
  /** The key prefix every key of this broker carries. */
  readonly prefix: string;
  /** Where the store is, for messages (`redis://127.0.0.1:6379`, `memory://name`). */
  readonly address: string;
  /**
   * The store's own clock, when the engine should follow it by default: an in-memory store created with a
   * SimulatedClock (the testing kit's) makes every object on it run on that clock unless given another. Redis:
   * undefined (the system clock).
   */
  readonly clock?: Clock;
  /** True while the command connection can carry commands now. */
  readonly isReady: boolean;
  /**
   * Resolves once the store answers; rejects with RedisUnavailableError naming {@link address} after `timeoutMs`, or
   * at once when the connection fails for good.
   */
  ready(timeoutMs: number): Promise<void>;
  /**
   * Resolves true as soon as the command connection can carry commands (at once when it can now), false once
   * `timeoutMs` passed without that. Sends nothing.
   */
  whenReady(timeoutMs: number): Promise<boolean>;
  on<K extends keyof BrokerEvents>(event: K, listener: (...args: BrokerEvents[K]) => void): void;
  off<K extends keyof BrokerEvents>(event: K, listener: (...args: BrokerEvents[K]) => void): void;
  /** Closes the connections the broker created (never one the user passed in). Idempotent. */
  close(): Promise<void>;
}

/** The unique lock of a task: its key is derived from the queue, the type and the payload digest. */
export interface UniqueLock {
  type: string;
  digest: string;
}

/** One task to enqueue, already encoded. */
export interface EnqueueItem {
  id: string;
  message: string;
  processAtMs?: number;
  /** A caller-chosen id: an existing task with it is a conflict (a generated one is a re-sent call). */
  checkId: boolean;
  unique?: UniqueLock & { ttlMs: number };
  /** Register a waiter atomically with the enqueue (enqueueAndWait). */
  awaited?: boolean;
}

/** Raw task record with its derived state. */
export interface StoredTask {
  message: string;
  state: TaskState;
  /** The score in the state's sorted set (due time, archive time, expiry, lease), if any. */
  score?: number;
}

/** What removing a task (cancel, delete) must also release or record. */
export interface TaskRemoval {
  now: number;
  /** Its unique lock, freed if it still holds it. */
  unique?: UniqueLock;
  /** A workflow task: its relay entry (the workflow learns it was canceled). */
  relay?: string;
}

/** Operations of producers (TaskClient) and shared reads. */
export interface ProducerOps {
  /** Adds queue names to the registry of known queues. */
  registerQueues(queues: string[]): Promise<void>;
  /** Every registered queue name, sorted. */
  queues(): Promise<string[]>;
  /** Enqueues tasks of one queue; one code per item, in order. */
  enqueue(queue: string, items: EnqueueItem[], now: number): Promise<EnqueueOutcome[]>;
  /** Reads a task and its state; undefined when there is none. */
  task(queue: string, id: string): Promise<StoredTask | undefined>;
  /** Finds a task in `queue`, or without one in every registered queue (the first in name order wins). */
  locate(id: string, queue?: string): Promise<{ queue: string; stored: StoredTask } | undefined>;
  /** Marks `id` as awaited, so finishing it is announced through {@link NotificationOps.subscribeDone}. */
  addWaiter(queue: string, id: string): Promise<void>;
  /** Forgets a waiter (the wait ended another way). */
  removeWaiter(queue: string, id: string): Promise<void>;
  /**
   * Cancels a waiting task (or a hand-off no worker popped yet). `removed`: deleted; `active`: it runs (the caller
   * publishes the cancel); `none`: not found or already finished.
   */
  cancel(queue: string, id: string, options: TaskRemoval): Promise<'removed' | 'active' | 'none'>;
  /** Tells every worker to abort an active task. */
  publishCancel(queue: string, id: string): Promise<void>;
}

/** A task claimed by dequeue; `message` is '' when the id had no record, '-' for a duplicate entry (skip it). */
export interface ClaimedTask {
  id: string;
  message: string;
}

/** A task held under a lease. */
export interface LeasedItem {
  id: string;
  leaseScore: string;
}

/** A finished task to complete. */
export interface CompleteItem extends LeasedItem {
  /** Until when the completed record is kept (0: the task is deleted). */
  retainUntilMs: number;
  /**
   * The message with its result, stored when retained; '' when deleted, or when retained as it is stored (a workflow
   * task: its result lives in its workflow).
   */
  message: string;
  unique?: UniqueLock;
  /** The result as JSON ('' when none), announced to waiters. */
  resultJson: string;
  /** A workflow task: its relay entry (workflow/relay.ts), recorded with the finish. */
  relay?: string;
}

/** A failed task to retry. */
export interface RetryItem extends LeasedItem {
  message: string;
  retryAtMs: number;
  countsAsFailure: boolean;
}

/** A failed task to archive. */
export interface ArchiveItem extends LeasedItem {
  message: string;
  lastError: string;
  /** A workflow task: its relay entry, recorded with the finish. */
  relay?: string;
}

/** A task the recoverer reclaims. */
export interface RecoverItem {
  id: string;
  /** The expired lease score seen, or '' for an active task without a lease. */
  seenScore: string;
  message: string;
  action: 'pending' | 'archive';
  lastError: string;
  /** A workflow task archived here: its relay entry. */
  relay?: string;
}

/**
 * A task that an enqueue leased for an idle worker and delivered with the wake-up itself, so the worker starts it
 * without another round trip.
 */
export interface Handoff {
  id: string;
  /** The lease the enqueue wrote (expiry ms, no worker tag fraction). */
  leaseScore: string;
  /** The encoded task message. */
  message: string;
}

/** What woke an idle worker: pending work (`p`), an earlier due time (`d`), or a task handed to it (`h`). */
export type WakeMarker = { queue: string; kind: 'p' | 'd' } | { queue: string; kind: 'h'; handoff: Handoff };

/** What a wake source needs from its worker. */
export interface WakeSourceParams {
  /** Identifies the worker in idle registrations. */
  workerId: string;
  /** The worker's lease duration: a task handed to it is leased this long. */
  leaseMs: number;
  clock: Clock;
  /**
   * Called with every task handed to the worker, at once (whether or not it waits): returns true when the worker
   * has a slot left for another one (it stays registered as idle).
   */
  onHandoff: (queue: string, handoff: Handoff) => boolean;
  onError: (err: Error) => void;
}

/** Where an idle worker waits for work (Redis: BZPOPMIN on the queues' wake keys). */
export interface WakeSource {
  /** Waits until something wakes the worker, or `timeoutMs` passes (undefined). One wait at a time. */
  wait(timeoutMs: number): Promise<WakeMarker | undefined>;
  /** Stops waiting, hands over anything popped meanwhile, leaves the idle registrations. Bounded by `graceMs`. */
  close(graceMs: number): Promise<void>;
}

/** The worker's operations: claims, finalize writes, leases, delays, recovery, cleaning. */
export interface WorkerOps {
  /** Claims up to `count` pending tasks (hand-offs first) under `leaseScore`; `dueChanged` when a `d` marker was seen. */
  dequeue(queue: string, count: number, leaseScore: string): Promise<{ tasks: ClaimedTask[]; dueChanged: boolean }>;
  /** Completes tasks; returns the ids whose lease was lost (nothing written for them). */
  complete(queue: string, items: CompleteItem[], now: number): Promise<string[]>;
  /** Moves failed tasks to the retry set; returns the ids whose lease was lost. */
  retry(queue: string, items: RetryItem[], now: number): Promise<string[]>;
  /** Archives failed tasks; returns the ids whose lease was lost. */
  archive(queue: string, items: ArchiveItem[], now: number): Promise<string[]>;
  /** Gives active tasks back to the head of the queue; returns the ids whose lease was lost. */
  requeue(queue: string, items: LeasedItem[]): Promise<string[]>;
  /** Moves the leases still held to `newScore`; returns the ids whose lease was lost. */
  extendLeases(queue: string, items: LeasedItem[], newScore: string): Promise<string[]>;
  /** Moves due scheduled/retry tasks to pending; returns how many moved and the next due time. */
  forward(queue: string, now: number, limit?: number): Promise<{ moved: number; nextDue?: number }>;
  /** Expired leases (at most `limit`). */
  expiredLeases(queue: string, now: number, limit?: number): Promise<LeasedItem[]>;
  /** Every lease of the queue. */
  leases(queue: string): Promise<LeasedItem[]>;
  /** Active ids that hold no lease. */
  activeWithoutLease(queue: string): Promise<string[]>;
  /** Raw messages of ids (undefined where missing). */
  messages(queue: string, ids: string[]): Promise<(string | undefined)[]>;
  /** Reclaims tasks of dead workers; returns how many were recovered. */
  recover(queue: string, items: RecoverItem[], now: number): Promise<number>;
  /** Deletes expired completed tasks, old archived ones and lapsed idle registrations; returns how many tasks. */
  janitor(queue: string, now: number, batch?: number): Promise<number>;
  /** Stores a running task's new message (a handler chain's checkpoint), fenced on its lease; false when lost. */
  checkpoint(queue: string, item: LeasedItem, message: string): Promise<boolean>;
  /** Opens the wait of an idle worker on `queues`. */
  openWakeSource(queues: string[], params: WakeSourceParams): WakeSource;
}

/** Sizes, counters and flags of one queue. */
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
  /** Approximate bytes of the queue's records (sampled); undefined when unavailable. */
  memoryUsage?: number;
}

/** One task listed by {@link InspectOps.listTasks}. */
export interface ListedTask {
  id: string;
  stored: StoredTask;
}

/** Inspection and admin operations (TaskInspector). */
export interface InspectOps {
  /** Sizes, counters (of the UTC `day`, `YYYY-MM-DD`) and pause flag of a queue. */
  queueSnapshot(queue: string, day: string): Promise<QueueSnapshot>;
  /** The id and message of the task at the head of the pending list, if any. */
  pendingHead(queue: string): Promise<{ id: string; message: string } | undefined>;
  /** `count` tasks of one state starting at offset `start`, in the state's order (see TaskInspector.listTasks). */
  listTasks(queue: string, state: TaskState, start: number, count: number): Promise<ListedTask[]>;
  /**
   * Scheduled, retry or archived → pending. With `rewrite`, the stored message is replaced by `rewrite.next` when it
   * still equals `rewrite.expected`.
   */
  runTask(queue: string, id: string, rewrite?: { expected: string; next: string }): Promise<TaskOpOutcome>;
  /** Pending, scheduled or retry → archived. */
  archiveTask(queue: string, id: string, now: number, relay?: string): Promise<TaskOpOutcome>;
  /** Deletes a task that is not active, freeing its unique lock. */
  deleteTask(queue: string, id: string, options: TaskRemoval): Promise<TaskOpOutcome>;
  /** Pauses a queue's pickup. */
  pause(queue: string, now: number): Promise<void>;
  /** Resumes a queue's pickup. */
  unpause(queue: string): Promise<void>;
}

/** One tick to fire: the entry and revision it was computed from, the tick, the task it enqueues. */
export interface TickFire {
  entryId: string;
  rev: string;
  fireMs: number;
  taskId: string;
  /** 0: pending at once; else scheduled until then. */
  processAtMs: number;
  message: string;
}

/** Ticks encoded for sending, built ahead of their due time (a large tick's encoding does not count as lateness). */
export interface PreparedTicks {
  readonly queue: string;
  readonly count: number;
}

/** Periodic-entry operations (TaskScheduler). */
export interface PeriodicOps {
  /** Queues that hold periodic entries. */
  cronQueues(): Promise<string[]>;
  /** Registers `queue` as holding periodic entries (and as a queue). */
  registerCronQueue(queue: string): Promise<void>;
  /** True when entry `id` is stored in `queue`. */
  hasCronEntry(queue: string, id: string): Promise<boolean>;
  /** Creates or updates entry `id`: 0 unchanged, 1 created, 2 updated. */
  upsertCronEntry(queue: string, id: string, definitionJson: string, now: number): Promise<0 | 1 | 2>;
  /** Removes entry `id`; true when it existed. */
  removeCronEntry(queue: string, id: string): Promise<boolean>;
  /** The raw definitions and fire states of the queue's entries, by id. */
  cronEntries(queue: string): Promise<{ definitions: Record<string, string>; states: Record<string, string> }>;
  /** Encodes ticks of one queue for {@link fireTicks}. */
  prepareTicks(queue: string, fires: TickFire[]): PreparedTicks;
  /** Fires prepared ticks atomically (compare-and-set plus enqueue); one code per fire. */
  fireTicks(prepared: PreparedTicks): Promise<TickCode[]>;
  /** Tells every scheduler that entries changed. */
  announceCronChange(): Promise<void>;
  /** The store's clock, in ms. */
  serverTime(): Promise<number>;
}

/** One task of a workflow to create: its node info, its template, and how many inputs it waits for. */
export interface WorkflowNodeRecord {
  /** `type \t queue \t dependents (comma-separated) \t input expression JSON ('' none)`. */
  info: string;
  /** What it is enqueued with (workflow/plan.ts NodeTemplate, JSON). */
  template: string;
  /** How many tasks must complete before it is ready (0: ready at once). */
  waitingFor: number;
}

/** A workflow to create. */
export interface WorkflowRecord {
  id: string;
  nodes: WorkflowNodeRecord[];
  /** The workflow's result expression (JSON). */
  resultExpr: string;
  /** The onFailure task's template ('' none). */
  onFailure: string;
  retentionMs: number;
}

/** A finished workflow task to apply: completed (`c`, data = result JSON), archived (`a`) or canceled (`x`, data = the error as a JSON string). */
export interface FinishedTask {
  index: string;
  state: 'c' | 'a' | 'x';
  data: string;
}

/** What a dispatcher needs for one ready task. */
export interface ClaimedNode {
  /** The task index, or `F` for the onFailure task. */
  index: string;
  template: string;
  /** Node info (for `F`: the failed task's). */
  info: string;
  /** Results of the tasks its input names, by index: `c<JSON>`. */
  results: Map<number, string>;
}

/** A workflow's stored state, as read for getWorkflow. */
export interface StoredWorkflow {
  meta: Record<string, string>;
  /** Node info by index. */
  nodes: Record<string, string>;
  /** Finished tasks by index: `c<result JSON>`, `a<error JSON>`, `x<reason JSON>`. */
  results: Record<string, string>;
  /** Indices dispatched to their queues. */
  dispatched: string[];
}

/**
 * What waiting for a workflow needs, without its tasks: its meta, the results its result expression names (once
 * completed), and the failed task's node info (once failed).
 */
export interface StoredWorkflowOutcome {
  /** `running`, `completed`, `failed` or `canceled`. */
  state: string;
  /** The workflow's result expression (JSON). */
  resultExpr: string;
  /** The stored failure (JSON, '' none): the failed task's index, how it finished, its error. */
  failure: string;
  /** The failed task's node info ('' when it did not fail). */
  failedNode: string;
  /** The results the result expression names, by index: `c<JSON>` (empty while not completed). */
  results: Record<string, string>;
}

/** Workflow operations: the state of each workflow lives under a hash tag of its own (one slot per call). */
export interface WorkflowOps {
  /** Stores a workflow and puts its first tasks in its outbox; false when the id exists. */
  create(record: WorkflowRecord, now: number): Promise<boolean>;
  /**
   * Applies finished tasks; returns the workflow's state and the outbox entries to dispatch: those these finishes
   * made ready, or with `wholeOutbox` every entry not yet dispatched (the recovery round: dispatches that died).
   */
  advance(
    id: string,
    finished: FinishedTask[],
    now: number,
    wholeOutbox: boolean,
  ): Promise<{ state: string; outbox: string[] }>;
  /** Reads what dispatching the given outbox entries needs (entries no longer to dispatch are left out). */
  claim(
    id: string,
    indices: string[],
  ): Promise<{ state: string; failure: string; retentionMs: number; nodes: ClaimedNode[] }>;
  /** Dispatched entries leave the outbox. */
  dispatched(id: string, indices: string[]): Promise<void>;
  /** Cancels a running workflow; returns its state and the dispatched tasks that did not finish (index, node info). */
  cancel(id: string, now: number): Promise<{ state: string; unfinished: { index: string; info: string }[] }>;
  /** Reads a workflow; undefined when there is none (or it expired). */
  read(id: string): Promise<StoredWorkflow | undefined>;
  /** Reads how a workflow ended (or that it runs), not its tasks; undefined when there is none (or it expired). */
  outcome(id: string): Promise<StoredWorkflowOutcome | undefined>;
  /** Registers a workflow in the index of all workflows, and as due for a look at `dueAt` (before it is created). */
  register(id: string, createdAt: number, dueAt: number): Promise<void>;
  /** Pushes the next safety look at workflows to `at`. */
  markDue(ids: string[], at: number): Promise<void>;
  /** A finished workflow needs no more looks. */
  clearDue(id: string): Promise<void>;
  /** Workflows due for a safety look at `now` (at most `limit`). */
  due(now: number, limit: number): Promise<string[]>;
  /** Relay entries of `queue` older than `olderThan` (ms), at most `limit`: finishes not applied yet. */
  relays(queue: string, olderThan: number, limit: number): Promise<string[]>;
  /** Removes applied relay entries. */
  removeRelays(queue: string, entries: string[]): Promise<void>;
  /** Workflow ids, newest first, `count` from offset `start`; and how many there are. */
  list(start: number, count: number): Promise<{ ids: string[]; total: number }>;
  /** Drops ids from the index (workflows that expired). */
  forget(ids: string[]): Promise<void>;
}

/** A message announcing that an awaited task finished. */
export interface DoneMessage {
  id: string;
  state: 'completed' | 'archived';
  /** The result (completed) or the last error (archived). */
  data: unknown;
}

/** Cross-process notifications. Each subscribe resolves once the subscription is active. */
export interface NotificationOps {
  /** Calls `listener` for every cancel of an active task. */
  subscribeCancel(listener: (queue: string, id: string) => void): Promise<void>;
  /** Calls `listener` for every awaited task of `queue` that finishes. */
  subscribeDone(queue: string, listener: (message: DoneMessage) => void): Promise<void>;
  /** Calls `listener` whenever periodic entries changed. */
  subscribeCronChange(listener: () => void): Promise<void>;
  /** Calls `listener` when a workflow completed, failed or was canceled. */
  subscribeWorkflowDone(listener: (id: string, state: string) => void): Promise<void>;
  /**
   * Calls `listener` after the subscriptions were re-established following a disconnect (messages sent meanwhile
   * are lost: re-read what matters).
   */
  onResubscribed(listener: () => void): void;
}
