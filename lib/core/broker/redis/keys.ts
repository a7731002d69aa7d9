/**
 * Every Redis key name the library uses, in one place. Every key of a queue carries the queue as a Redis Cluster hash
 * tag (`{queue}`), so a script that touches one queue touches one slot. Global keys (the queue registry, channels,
 * periodic-entry registry) are only ever touched by plain commands, never inside a multi-key script.
 */
export class QueueKeys {
  /** `<prefix>:{<queue>}`: the common part of every key of the queue. */
  readonly base: string;
  /** HASH task id → encoded task message (see ../codec.ts). One hash per queue keeps memory and round trips low. */
  readonly tasks: string;
  /** LIST of pending ids: enqueue pushes on the left, workers pop on the right (the head). */
  readonly pending: string;
  /** SET of active ids (claimed by a worker); each must also hold a lease. */
  readonly active: string;
  /** ZSET active id → lease expiry (ms, plus a worker tag in the fraction that fences finalize writes). */
  readonly lease: string;
  /** ZSET scheduled id → process-at time (ms). */
  readonly scheduled: string;
  /** ZSET retry id → retry-at time (ms). */
  readonly retry: string;
  /** ZSET archived id → archived-at time (ms). */
  readonly archived: string;
  /** ZSET completed id → expiry (ms) = completed-at + retention. */
  readonly completed: string;
  /** STRING present while the queue is paused. */
  readonly paused: string;
  /**
   * ZSET that idle workers block on (BZPOPMIN), every member at score 0: the markers `p` (pending work) and `d` (an
   * earlier due time), and hand-offs (`h…`, handoff.ts): tasks an enqueue leased for an idle worker, message included,
   * so the worker starts them without another round trip.
   */
  readonly wake: string;
  /** ZSET idle worker registration (`<leaseMs>:<workerId>`) → expiry ms: an enqueue hands tasks to these workers. */
  readonly idle: string;
  /** SET of ids someone waits on (waitForResult/send); finishing them publishes on {@link done}. */
  readonly waiters: string;
  /** Pub/sub channel on which finished waited-for tasks are announced. */
  readonly done: string;
  /** STRING counter of processed attempts, all time. */
  readonly processed: string;
  /** STRING counter of failed attempts, all time. */
  readonly failed: string;
  /** HASH periodic entry id → entry definition (JSON). */
  readonly cronEntries: string;
  /** HASH periodic entry id → last fire state (JSON); the compare-and-set target of a tick. */
  readonly cronState: string;
  /**
   * HASH of workflow tasks of this queue that finished, waiting to be applied to their workflow (whose keys live in
   * another slot): relay entry `<workflow id>\t<task index>\t<state>\t<data>` (workflow/relay.ts) → finished-at ms.
   * Written by the finalize scripts in the same step as the finish, removed once applied (workflow/advancer.ts). A
   * hash, not a sorted set: every finished workflow task writes and removes one, and the recovery round, the only
   * reader by age, sees a handful (it scans).
   */
  readonly workflowRelay: string;

  constructor(
    readonly prefix: string,
    readonly queue: string,
  ) {
    this.base = `${prefix}:{${queue}}`;
    this.tasks = `${this.base}:t`;
    this.pending = `${this.base}:pending`;
    this.active = `${this.base}:active`;
    this.lease = `${this.base}:lease`;
    this.scheduled = `${this.base}:scheduled`;
    this.retry = `${this.base}:retry`;
    this.archived = `${this.base}:archived`;
    this.completed = `${this.base}:completed`;
    this.paused = `${this.base}:paused`;
    this.wake = `${this.base}:wake`;
    this.idle = `${this.base}:idle`;
    this.waiters = `${this.base}:waiters`;
    this.done = `${this.base}:done`;
    this.processed = `${this.base}:processed`;
    this.failed = `${this.base}:failed`;
    this.cronEntries = `${this.base}:cron`;
    this.cronState = `${this.base}:cron:state`;
    this.workflowRelay = `${this.base}:wfrelay`;
  }

  /** STRING counter of processed attempts on a UTC day (`YYYY-MM-DD`), expiring after 90 days. */
  processedOn(day: string): string {
    return `${this.base}:processed:${day}`;
  }

  /** STRING counter of failed attempts on a UTC day (`YYYY-MM-DD`), expiring after 90 days. */
  failedOn(day: string): string {
    return `${this.base}:failed:${day}`;
  }

  /**
   * ZSET a worker blocks on next to the shared wake keys, written only by that worker itself (plain ZADD on
   * shutdown), so it can end its own BZPOPMIN without dropping a hand-off popped in the same instant.
   */
  ownWake(workerId: string): string {
    return `${this.base}:wake:${workerId}`;
  }

  /** STRING unique lock for (type, payload digest), holding the id of the task that owns it. */
  unique(type: string, digest: string): string {
    return `${this.base}:u:${type}:${digest}`;
  }
}

/** The Redis type of each fixed key of a queue (as `TYPE` reports it), to name a key that holds the wrong kind. */
export const QUEUE_KEY_TYPES = {
  tasks: 'hash',
  pending: 'list',
  active: 'set',
  lease: 'zset',
  scheduled: 'zset',
  retry: 'zset',
  archived: 'zset',
  completed: 'zset',
  paused: 'string',
  wake: 'zset',
  idle: 'zset',
  waiters: 'set',
  processed: 'string',
  failed: 'string',
  cronEntries: 'hash',
  cronState: 'hash',
  workflowRelay: 'hash',
} as const satisfies Partial<Record<keyof QueueKeys, string>>;

/**
 * The keys of one workflow, under a hash tag of its own (`{w:<id>}`), so every workflow script touches one slot
 * whatever queues its tasks live in.
 */
export class WorkflowKeys {
  /** `<prefix>:{w:<id>}`. */
  readonly base: string;
  /**
   * HASH: `st` state (running, completed, failed, canceled), `n` tasks, `left` tasks not finished, `ct` created ms,
   * `ft` finished ms, `ret` retention ms, `res` the result expression (JSON), `onf` the onFailure template ('' none),
   * `fail` the failure (JSON), `init` the number of first-task template fields while their dispatch is not done.
   */
  readonly meta: string;
  /**
   * HASH floor(task index / 64) → the node infos of those 64 tasks, one per line: `type \t queue \t dependents
   * (comma-separated) \t input expression (JSON, '' none)`. 64 to a field: a field per task would cost ~50 bytes of
   * hash overhead each (includes/workflow-node.lua reads one).
   */
  readonly nodes: string;
  /**
   * HASH task index → template (what it is enqueued with), until it is dispatched; and `i<floor(index / 64)>` → the
   * templates of the first tasks (ready at creation), one per line, until their dispatch is done (meta `init` holds
   * the number of such fields; includes/workflow-initial.lua).
   */
  readonly templates: string;
  /** HASH task index → how many of its inputs are not completed yet (only tasks still waiting for inputs). */
  readonly waiting: string;
  /** HASH task index → `c<result JSON>` completed, `a<error JSON>` archived, `x<reason JSON>` canceled. */
  readonly results: string;
  /**
   * ZSET task index (or `F`, the onFailure task) → ready-at ms: made ready by an advance, not yet dispatched to its
   * queue (first tasks are not in it: see templates).
   */
  readonly outbox: string;
  /** SET holding `F` once the onFailure task was dispatched. */
  readonly dispatched: string;

  constructor(
    readonly prefix: string,
    readonly id: string,
  ) {
    this.base = `${prefix}:{w:${id}}`;
    this.meta = `${this.base}:meta`;
    this.nodes = `${this.base}:nodes`;
    this.templates = `${this.base}:tpl`;
    this.waiting = `${this.base}:wait`;
    this.results = `${this.base}:res`;
    this.outbox = `${this.base}:out`;
    this.dispatched = `${this.base}:disp`;
  }

  /** Every key of the workflow, in the order workflow scripts take them. */
  all(): string[] {
    return [this.meta, this.nodes, this.templates, this.waiting, this.results, this.outbox, this.dispatched];
  }
}

/** Node infos per field of {@link WorkflowKeys.nodes}. */
export const NODES_PER_FIELD = 64;

/** Keys that are not tied to one queue. */
export class GlobalKeys {
  /** SET of every queue name that was ever used. */
  readonly queues: string;
  /** Pub/sub channel carrying ids of active tasks to cancel. */
  readonly cancel: string;
  /** SET of queue names that hold periodic entries. */
  readonly cronQueues: string;
  /** Pub/sub channel announcing that periodic entries changed. */
  readonly cronChanged: string;
  /** ZSET of every workflow id → created ms (TaskInspector.workflows). Plain commands only. */
  readonly workflows: string;
  /**
   * ZSET workflow id → when to look at it again: the safety net that finishes an advance a worker died in (its
   * outbox dispatched). Pushed forward on every advance, removed once the workflow finished. Plain commands only.
   */
  readonly workflowsDue: string;
  /** Pub/sub channel: `[workflow id, state]` when a workflow completed, failed or was canceled. */
  readonly workflowDone: string;

  constructor(readonly prefix: string) {
    this.queues = `${prefix}:queues`;
    this.cancel = `${prefix}:cancel`;
    this.cronQueues = `${prefix}:cron:queues`;
    this.cronChanged = `${prefix}:cron:changed`;
    this.workflows = `${prefix}:workflows`;
    this.workflowsDue = `${prefix}:workflows:due`;
    this.workflowDone = `${prefix}:workflows:done`;
  }
}

export { utcDay } from '../../clock.js';

export { DAILY_STATS_TTL_MS } from '../retention.js';
