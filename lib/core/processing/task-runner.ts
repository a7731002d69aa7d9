import type { ClaimedTask, Handoff, LeasedItem, WorkerOps } from '../broker/broker.js';
import { decodeMessage, encodeMessage, type TaskMessage } from '../broker/codec.js';
import type { Clock } from '../clock.js';
import {
  CorruptTaskError,
  LeaseLostError,
  NoHandlerError,
  ShutdownError,
  TaskCanceledError,
  toError,
} from '../errors.js';
import type { WorkerEventEmitter } from '../events.js';
import type { PayloadCodec } from '../payload-codec.js';
import type { TaskHandlerFn } from '../task.js';
import { startTimer } from '../timers.js';
import { parseWorkflowTaskId, relayEntry } from '../workflow/relay.js';
import { runHandlerChain } from './handler-chain.js';
import type { Acker } from './acker.js';
import { LiveTask } from './live-task.js';
import { attemptLimit, decideFailure, retentionOf, type FailurePolicy } from './outcome-policy.js';
import type { Run, RunningTasks } from './running-tasks.js';

/** A hand-off with less lease than this left (or a quarter of the lease, if less) is given back, not run. */
const HANDOFF_MIN_LEASE_MS = 1_000;
const CORRUPT_TYPE = '(corrupt)';

/** What the runner needs. */
export interface TaskRunnerParams {
  broker: Pick<WorkerOps, 'requeue' | 'extendLeases' | 'checkpoint'>;
  running: RunningTasks;
  acker: Acker;
  /** One handler per type, or a handler chain (run in order, checkpointed). */
  handlers: ReadonlyMap<string, TaskHandlerFn | readonly TaskHandlerFn[]>;
  codec: PayloadCodec;
  clock: Clock;
  policy: FailurePolicy;
  leaseMs: number;
  events: WorkerEventEmitter;
  /** A task of `queue` will be due for a retry at `at` (the forwarder arms its timer). */
  onRetryAt: (queue: string, at: number) => void;
  /** Called whenever a slot frees up (the claim loop may claim again). */
  onSlotFreed: () => void;
  onError: (err: Error) => void;
}

/**
 * Runs claimed tasks: decodes them, starts the handler under its attempt limit, and hands the outcome (complete,
 * retry, archive, as the outcome policy decides) to the batching acker. Also the intake of hand-offs (tasks an
 * enqueue gave this worker directly) and of cancels, lease losses and shutdown aborts.
 */
export class TaskRunner {
  /** Hand-offs being given back to their queue. */
  private readonly givebacks = new Set<Promise<void>>();

  constructor(private readonly p: TaskRunnerParams) {}

  /** Starts a claimed task; returns its run, or undefined when there was nothing to run. */
  begin(queue: string, claimed: ClaimedTask, leaseScore: string): Run | undefined {
    if (claimed.message === '-') return undefined;
    if (claimed.message === '') {
      this.p.onError(new Error(`dropped id "${claimed.id}" of queue "${queue}": it has no task record`));
      return undefined;
    }
    let message: TaskMessage;
    let payload: unknown;
    try {
      message = decodeMessage(claimed.message);
    } catch (err) {
      this.archiveCorrupt(
        queue,
        claimed,
        leaseScore,
        err instanceof CorruptTaskError ? err : new CorruptTaskError(String(err)),
      );
      return undefined;
    }
    try {
      payload = this.p.codec.decode(message.payload);
    } catch (err) {
      this.archiveCorrupt(
        queue,
        claimed,
        leaseScore,
        new CorruptTaskError(`payload cannot be decoded (${toError(err).message})`),
      );
      return undefined;
    }
    const task = new LiveTask(
      claimed.id,
      message.type,
      queue,
      payload,
      message.headers,
      message.retried,
      message.maxRetry,
      message.deadlineMs === undefined ? undefined : new Date(message.deadlineMs),
    );
    if (message.previous !== undefined) task.previous = message.previous;
    if (message.workflow) task.workflowId = parseWorkflowTaskId(claimed.id)?.workflowId;
    const run: Run = {
      id: claimed.id,
      queue,
      message,
      leaseScore,
      task,
      settled: false,
      lost: false,
    };
    this.p.running.add(run);
    this.execute(run);
    return run;
  }

  /**
   * A task an enqueue handed to this worker (from the wake-up reply itself). One that waited in the wake set until
   * its lease is nearly over is given back instead (the recoverer may be about to take it); one with less than half
   * a lease left gets this worker's own lease now rather than at the next heartbeat.
   */
  takeHandoff(queue: string, handoff: Handoff): void {
    const left = Number(handoff.leaseScore) - this.p.clock.now();
    if (left <= Math.min(HANDOFF_MIN_LEASE_MS, this.p.leaseMs / 4)) {
      this.giveBack(queue, [handoff]);
      return;
    }
    const run = this.begin(queue, { id: handoff.id, message: handoff.message }, handoff.leaseScore);
    if (run && !run.settled && left < this.p.leaseMs / 2) this.adopt(run);
  }

  /** Gives leased tasks that never started back to the head of their queue (fenced on their lease). */
  giveBack(queue: string, items: LeasedItem[]): void {
    const done = this.p.broker.requeue(queue, items).then(
      () => undefined,
      (err: unknown) => this.p.onError(toError(err)),
    );
    this.givebacks.add(done);
    void done.finally(() => this.givebacks.delete(done));
  }

  /** Cancels a running task: its signal fires and it is archived. True when it ran here. */
  cancel(queue: string, id: string): boolean {
    const run = this.p.running.get(queue, id);
    if (!run || run.settled) return false;
    const reason = new TaskCanceledError(id);
    run.task.abort(reason);
    this.fail(run, reason);
    return true;
  }

  /** Aborts the runs whose lease was lost; nothing is written for them. */
  loseLeases(queue: string, ids: string[]): void {
    for (const id of ids) {
      const run = this.p.running.get(queue, id);
      if (run && !run.settled) {
        run.lost = true;
        this.settle(run, () => run.task.abort(new LeaseLostError(id)));
      }
    }
  }

  /** Aborts every running task (shutdown); returns what they held, by queue, to give back. */
  abortAll(): [queue: string, items: LeasedItem[]][] {
    const out: [string, LeasedItem[]][] = [];
    for (const [queue, runs] of this.p.running.queues()) {
      const list = runs.filter((r) => !r.settled);
      if (list.length === 0) continue;
      for (const run of list) this.settle(run, () => run.task.abort(new ShutdownError()));
      out.push([queue, list.map((r) => ({ id: r.id, leaseScore: r.leaseScore }))]);
    }
    return out;
  }

  /** Waits for the hand-offs being given back. */
  async drainGivebacks(): Promise<void> {
    await Promise.all([...this.givebacks]);
  }

  private execute(run: Run): void {
    const { message } = run;
    const limit = attemptLimit(run.id, message, this.p.clock.now());
    const timeUp = (): void => {
      const reason = limit.reason();
      run.task.abort(reason);
      this.fail(run, reason);
    };
    if (limit.ms <= 0) return timeUp();
    run.timer = startTimer(this.p.clock, limit.ms, timeUp);
    const handler = this.p.handlers.get(message.type);
    if (!handler) return this.fail(run, new NoHandlerError(message.type));
    this.p.events.emit('active', run.task);
    let result: unknown;
    try {
      result = Array.isArray(handler)
        ? runHandlerChain(run, handler as readonly TaskHandlerFn[], (r, m) =>
            this.p.broker.checkpoint(r.queue, { id: r.id, leaseScore: r.leaseScore }, m),
          )
        : (handler as TaskHandlerFn)(run.task);
    } catch (err) {
      return this.fail(run, toError(err));
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(
        (value) => this.succeed(run, value),
        (err: unknown) => this.fail(run, toError(err)),
      );
    } else {
      this.succeed(run, result);
    }
  }

  /** Moves a run's lease to this worker's own score now (the heartbeat would do it within a third of a lease). */
  private adopt(run: Run): void {
    const held = { id: run.id, leaseScore: run.leaseScore };
    run.leaseScore = this.p.running.leaseScore();
    this.p.broker.extendLeases(run.queue, [held], run.leaseScore).then(
      (lost) => {
        if (lost.length > 0) this.loseLeases(run.queue, lost);
      },
      (err: unknown) => this.p.onError(toError(err)),
    );
  }

  /** Marks a run finished exactly once and frees its slot; `andThen` runs only for the first settle. */
  private settle(run: Run, andThen: () => void): void {
    if (run.settled) return;
    run.settled = true;
    run.timer?.clear();
    this.p.running.remove(run);
    andThen();
    this.p.onSlotFreed();
  }

  private succeed(run: Run, result: unknown): void {
    if (run.settled) return;
    let resultJson = '';
    if (result !== undefined) {
      try {
        resultJson = JSON.stringify(result) ?? '';
      } catch (err) {
        // A workflow passes results on: one it cannot store fails the task like any other error.
        if (run.message.workflow)
          return this.fail(run, new Error(`the result cannot be encoded as JSON: ${toError(err).message}`));
        this.p.onError(
          new Error(`the result of task "${run.id}" is not JSON-serializable and was dropped: ${toError(err).message}`),
        );
      }
    }
    this.settle(run, () => {
      if (run.lost) return;
      const { message } = run;
      let stored = '';
      let retainUntilMs = 0;
      const keepFor = retentionOf(message);
      if (keepFor > 0 && message.workflow) {
        // A workflow task's record outlives its step so a repeated dispatch finds it (workflow/dispatcher.ts); its
        // result lives in the workflow, so the record stays as stored ('': neither re-encoded nor sent back), or as
        // its last checkpoint wrote it.
        retainUntilMs = this.p.clock.now() + keepFor;
        stored = '';
      } else if (keepFor > 0) {
        const now = this.p.clock.now();
        retainUntilMs = now + keepFor;
        stored = encodeMessage({
          ...message,
          completedAt: now,
          result: resultJson === '' ? undefined : JSON.parse(resultJson),
        });
      }
      const unique = message.uniqueDigest ? { type: message.type, digest: message.uniqueDigest } : undefined;
      const relay = message.workflow ? relayEntry(run.id, 'c', resultJson) : undefined;
      this.p.acker.complete(run.queue, run, { id: run.id, retainUntilMs, message: stored, unique, resultJson, relay });
      this.p.events.emit('completed', run.task, result);
    });
  }

  private fail(run: Run, error: Error): void {
    this.settle(run, () => {
      if (run.lost) return;
      const { message, task } = run;
      const now = this.p.clock.now();
      const outcome = decideFailure(error, message, task, now, this.p.policy, this.p.onError);
      const failed: TaskMessage = { ...message, lastError: outcome.lastError, lastFailedAt: now };
      if (outcome.kind === 'archive') {
        const relay = message.workflow
          ? relayEntry(run.id, error instanceof TaskCanceledError ? 'x' : 'a', JSON.stringify(outcome.lastError))
          : undefined;
        this.p.acker.archive(run.queue, run, {
          id: run.id,
          message: encodeMessage(failed),
          lastError: outcome.lastError,
          relay,
        });
        this.p.events.emit('archived', task, error);
      } else {
        this.p.acker.retry(run.queue, run, {
          id: run.id,
          message: encodeMessage({ ...failed, retried: outcome.retried, readyAt: outcome.retryAt }),
          retryAtMs: outcome.retryAt,
          countsAsFailure: outcome.countsAsFailure,
        });
        this.p.onRetryAt(run.queue, outcome.retryAt);
      }
      if (this.p.events.listenerCount('failed') > 0)
        this.p.events.emit('failed', task, error, outcome.kind === 'retry');
    });
  }

  private archiveCorrupt(queue: string, claimed: ClaimedTask, leaseScore: string, error: CorruptTaskError): void {
    const now = this.p.clock.now();
    const message = encodeMessage({
      type: CORRUPT_TYPE,
      payload: claimed.message,
      readyAt: now,
      maxRetry: 0,
      retried: 0,
      timeoutMs: 0,
      retentionMs: 0,
      headers: {},
      lastError: error.message,
      lastFailedAt: now,
    });
    this.p.acker.archive(queue, { id: claimed.id, leaseScore }, { id: claimed.id, message, lastError: error.message });
    this.p.onError(new Error(`archived task "${claimed.id}" of queue "${queue}": ${error.message}`));
  }
}
