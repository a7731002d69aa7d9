import { bounded } from './bounded.js';
import type { WakeSource } from './broker/broker.js';
import { systemClock, type Clock } from './clock.js';
import { ClosedError, InvalidOptionError, InvalidStateError, toError } from './errors.js';
import type { WorkerEvents } from './events.js';
import { newTaskId } from './ids.js';
import { TaskqLifecycle, type BrokerInternals } from './lifecycle.js';
import { validateTaskType, type TaskqOptions } from './options.js';
import { Acker } from './processing/acker.js';
import { ClaimLoop } from './processing/claim-loop.js';
import { Forwarder } from './processing/forwarder.js';
import { Heartbeat } from './processing/heartbeat.js';
import { Janitor } from './processing/janitor.js';
import { Recoverer } from './processing/recoverer.js';
import { RunningTasks } from './processing/running-tasks.js';
import { TaskRunner } from './processing/task-runner.js';
import type { Task, TaskHandlerFn } from './task.js';
import { WorkflowAdvancer } from './workflow/advancer.js';
import { WorkflowDispatcher } from './workflow/dispatcher.js';
import { WorkflowRecovery } from './workflow/recovery.js';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './worker-options.js';

/** How long `start()` waits for Redis before rejecting. */
export const DEFAULT_START_TIMEOUT_MS = 10_000;
const JANITOR_INTERVAL_MS = 15_000;
/** How long shutdown waits for its final writes (requeue, acknowledgements) when Redis does not answer. */
const SHUTDOWN_WRITE_GRACE_MS = 1_000;

/** Extra knobs for tests and embedding. */
export interface WorkerInternals extends BrokerInternals {
  /** Time source. @defaultValue the store's clock for an in-memory store, else the system clock */
  clock?: Clock;
  /** How long `start()` waits for Redis. @defaultValue 10s */
  startTimeout?: number;
}

/** The components of a started worker. */
interface Components {
  running: RunningTasks;
  acker: Acker;
  runner: TaskRunner;
  wake: WakeSource;
  claims: ClaimLoop;
  forwarder: Forwarder;
  heartbeat: Heartbeat;
  recoverer: Recoverer;
  janitor: Janitor;
  workflows: WorkflowRecovery;
}

/**
 * Runs handlers for task types. `start()` connects and begins fetching; `shutdown()` stops fetching, waits up to
 * `shutdownTimeout` for running tasks, gives unfinished ones back to the head of their queue, and closes the
 * connections it created.
 */
export class TaskWorker extends TaskqLifecycle<WorkerEvents> {
  /** The resolved options. */
  readonly options: ResolvedWorkerOptions;
  /** A random id naming this worker in Redis (its idle registrations and its own wake key). */
  readonly id = newTaskId();
  private readonly clock: Clock;
  private readonly startTimeoutMs: number;
  private readonly handlers = new Map<string, TaskHandlerFn | readonly TaskHandlerFn[]>();
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private parts?: Components;
  private shutdownPromise?: Promise<void>;

  constructor(options: TaskqOptions & WorkerOptions & WorkerInternals = {}) {
    const resolved = resolveWorkerOptions(options);
    super(options, 'TaskWorker', 'taskq:worker');
    this.options = resolved;
    this.clock = options.clock ?? this.broker.clock ?? systemClock;
    this.startTimeoutMs = options.startTimeout ?? DEFAULT_START_TIMEOUT_MS;
    let everReady = false;
    this.broker.on('status', (status) => {
      if (status !== 'connected') return;
      if (everReady) this.parts?.claims.requestReclaim();
      everReady = true;
    });
  }

  /**
   * Registers the handler of a task type (before or after start). Several handlers make a handler chain: they run in
   * order, handler k receiving handler k-1's output as `task.previous`, and each one's output is checkpointed on the
   * task, so a retry or a crash resumes at the handler that failed. The last one's output is the task's result.
   */
  handle<P = unknown, R = unknown>(type: string, handler: (task: Task<P>) => Promise<R> | R): this;
  handle<P = unknown>(type: string, ...handlers: ((task: Task<P>) => unknown)[]): this;
  handle(type: string, ...handlers: ((task: Task<never>) => unknown)[]): this {
    validateTaskType(type);
    if (handlers.length === 0) throw new InvalidOptionError('handler', 'expected a function (task) => result');
    handlers.forEach((h, i) => {
      if (typeof h !== 'function') {
        throw new InvalidOptionError(
          handlers.length > 1 ? `handlers[${i}]` : 'handler',
          'expected a function (task) => result',
        );
      }
    });
    this.handlers.set(type, handlers.length === 1 ? (handlers[0] as TaskHandlerFn) : (handlers as TaskHandlerFn[]));
    return this;
  }

  /** The task types that have a handler. */
  get types(): string[] {
    return [...this.handlers.keys()];
  }

  /** True between a successful `start()` and `shutdown()`. */
  get running(): boolean {
    return this.state === 'running';
  }

  /** How many tasks run now. */
  get activeCount(): number {
    return this.parts?.running.size ?? 0;
  }

  /**
   * Connects and starts fetching.
   * @throws RedisUnavailableError when Redis cannot be reached within the start timeout (the connections are closed
   *   again); InvalidStateError when called twice.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new InvalidStateError(`TaskWorker.start(): the worker is ${this.state}`);
    this.state = 'starting';
    try {
      await this.broker.ready(this.startTimeoutMs);
      const queues = this.options.queues.map((q) => q.name);
      await this.broker.producer.registerQueues(queues);
      const parts = this.assemble(queues);
      this.parts = parts;
      await this.broker.notify.subscribeCancel((queue, id) => parts.runner.cancel(queue, id));
      await parts.forwarder.start();
      await parts.recoverer.start();
      parts.janitor.start();
      parts.workflows.start();
      parts.heartbeat.start();
      parts.claims.start();
      this.state = 'running';
    } catch (err) {
      this.state = 'stopped';
      await this.parts?.wake.close(0);
      await this.closeBroker();
      throw err;
    }
  }

  /** Graceful shutdown (idempotent). */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  /** Wires the components; each receives only the slice of the broker it uses. */
  private assemble(queues: string[]): Components {
    const { leaseMs, concurrency, strictPriority } = this.options;
    const worker = this.broker.worker;
    const onError = (err: Error): void => this.emitError(err);
    const clock = this.clock;
    const running = new RunningTasks(clock, leaseMs);
    // Late-bound: components report to others created after them (the runner to the claim loop, and so on).
    const late: { parts?: Components } = {};
    const loseLeases = (queue: string, ids: string[]): void => late.parts?.runner.loseLeases(queue, ids);
    const acker = new Acker({
      broker: worker,
      clock,
      leaseMs,
      onLost: (queue, ids) =>
        onError(
          new Error(
            `${ids.length} task(s) of queue "${queue}" were no longer held by this worker when acknowledged ` +
              `(already acknowledged by a re-sent call, or taken over after the lease expired); nothing was written`,
          ),
        ),
      onError,
      // A workflow task finished: move its workflow on at once (the recovery round does it if this fails).
      onRelays: (queue, relays) => void advancer.apply(queue, relays).catch(onError),
    });
    const forwarder = new Forwarder({ broker: worker, queues, clock, onError });
    const dispatcher = new WorkflowDispatcher({
      workflow: this.broker.workflow,
      producer: this.broker.producer,
      clock,
    });
    const advancer = new WorkflowAdvancer({ workflow: this.broker.workflow, dispatcher, clock });
    const runner = new TaskRunner({
      broker: worker,
      running,
      acker,
      handlers: this.handlers,
      codec: this.codec,
      clock,
      policy: this.options,
      leaseMs,
      events: this.events,
      onRetryAt: (queue, at) => forwarder.noteDue(queue, at),
      onSlotFreed: () => late.parts?.claims.notify(),
      onError,
    });
    const wake = worker.openWakeSource(queues, {
      workerId: this.id,
      leaseMs,
      clock,
      onHandoff: (queue, handoff) => late.parts?.claims.acceptHandoff(queue, handoff) ?? false,
      onError,
    });
    const claims = new ClaimLoop({
      broker: worker,
      running,
      runner,
      wake,
      concurrency,
      queues: this.options.queues,
      strictPriority,
      onDueChanged: (queue) => forwarder.refresh(queue),
      onError,
    });
    const recoverEvery = Math.min(5_000, Math.max(250, Math.floor(leaseMs / 2)));
    late.parts = {
      running,
      acker,
      runner,
      wake,
      claims,
      forwarder,
      heartbeat: new Heartbeat({ broker: worker, running, clock, leaseMs, loseLeases, onError }),
      recoverer: new Recoverer({ broker: worker, queues, clock, intervalMs: recoverEvery, onError }),
      janitor: new Janitor({ broker: worker, queues, clock, intervalMs: JANITOR_INTERVAL_MS, onError }),
      workflows: new WorkflowRecovery({
        workflow: this.broker.workflow,
        advancer,
        queues,
        clock,
        intervalMs: recoverEvery,
        onError,
      }),
    };
    return late.parts;
  }

  private async doShutdown(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      this.markClosed();
      await this.closeBroker();
      return;
    }
    this.state = 'stopping';
    const parts = this.parts;
    if (parts) {
      parts.forwarder.shutdown();
      parts.recoverer.shutdown();
      parts.janitor.shutdown();
      parts.workflows.shutdown();
      const stopping = parts.claims.stop();
      await parts.wake.close(SHUTDOWN_WRITE_GRACE_MS);
      // Every wait below is bounded: with Redis down, commands wait for a reconnect forever (maxRetriesPerRequest:
      // null), and a shutdown must still end. What could not be written is left to the lease recoverer.
      await bounded(stopping, this.options.shutdownTimeoutMs);
      await parts.running.whenIdle(this.options.shutdownTimeoutMs);
      await bounded(this.requeueRemaining(parts), SHUTDOWN_WRITE_GRACE_MS);
      await bounded(parts.acker.drain(), SHUTDOWN_WRITE_GRACE_MS);
      parts.heartbeat.shutdown();
    }
    this.state = 'stopped';
    this.markClosed();
    await this.closeBroker();
  }

  /** Aborts every running task and gives it back to the head of its queue, after flushing acknowledgements. */
  private async requeueRemaining(parts: Components): Promise<void> {
    const held = parts.runner.abortAll();
    await parts.acker.drain();
    await parts.runner.drainGivebacks();
    await Promise.all(
      held.map(async ([queue, items]) => {
        try {
          await this.broker.worker.requeue(queue, items);
        } catch (err) {
          this.emitError(toError(err));
        }
      }),
    );
  }

  /** Connection errors are reported while the worker runs (before start and after shutdown nobody asked). */
  protected override onBrokerError(err: Error): void {
    if (this.state === 'running') this.emitError(err);
  }

  private emitError(err: Error): void {
    this.events.emit('error', err);
  }

  /** @internal For tests: run one recovery round now. */
  recoverNow(): Promise<number> {
    if (!this.parts) throw new ClosedError('TaskWorker (not started)');
    return this.parts.recoverer.run(true);
  }

  /** @internal For tests: run one workflow recovery round now. */
  recoverWorkflowsNow(): Promise<number> {
    if (!this.parts) throw new ClosedError('TaskWorker (not started)');
    return this.parts.workflows.run();
  }

  /** @internal For tests: run one janitor round now. */
  cleanNow(): Promise<number> {
    if (!this.parts) throw new ClosedError('TaskWorker (not started)');
    return this.parts.janitor.run();
  }
}
