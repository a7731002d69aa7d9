import type { Broker, WorkflowNodeRecord } from '../broker/broker.js';
import type { Clock } from '../clock.js';
import { parseDuration, parseOptionalDuration, type Duration } from '../duration.js';
import {
  InvalidOptionError,
  TaskTimeoutError,
  WorkflowCanceledError,
  WorkflowFailedError,
  WorkflowIdConflictError,
  WorkflowNotFoundError,
} from '../errors.js';
import { newTaskId } from '../ids.js';
import type { PayloadCodec } from '../payload-codec.js';
import type { ProducerBound } from '../producer-bound.js';
import { startTimer, type Timer } from '../timers.js';
import { WORKFLOW_RECHECK_MS } from './advancer.js';
import type { ReadyStep, WorkflowDispatcher } from './dispatcher.js';
import type { Flow } from './flow.js';
import { formatNodeInfo } from './node-info.js';
import { compilePlan, nodeTemplate } from './plan.js';
import { prebuiltStep, stepItem } from './step-message.js';
import { relayForRemoval, workflowTaskId } from './relay.js';
import { DEFAULT_WORKFLOW_RETENTION_MS, type WorkflowInfo, type WorkflowOptions } from './types.js';
import { toWorkflowInfo, toWorkflowOutcome, type WorkflowOutcome } from './workflow-info.js';

const WORKFLOW_ID = /^[A-Za-z0-9_.:-]{1,100}$/;

/** What the workflow client needs. */
export interface WorkflowClientParams {
  broker: Pick<Broker, 'producer' | 'workflow' | 'notify'>;
  dispatcher: WorkflowDispatcher;
  bound: ProducerBound;
  codec: PayloadCodec;
  clock: Clock;
}

interface Waiter {
  settle: (outcome: WorkflowOutcome | undefined) => void;
  fail: (err: unknown) => void;
}

/** TaskClient's workflow calls: create, read, wait (notified), cancel. */
export class WorkflowClient {
  private subscribed?: Promise<void>;
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(private readonly p: WorkflowClientParams) {}

  /**
   * Validates and stores a workflow, then enqueues its first tasks.
   * @throws InvalidOptionError naming the path of the bad step; WorkflowIdConflictError for an existing id.
   */
  async enqueue(flow: Flow, options: WorkflowOptions = {}): Promise<WorkflowInfo> {
    if (typeof options !== 'object' || options === null)
      throw new InvalidOptionError('options', 'expected WorkflowOptions');
    for (const key of Object.keys(options)) {
      if (!['id', 'retention', 'onFailure'].includes(key)) {
        throw new InvalidOptionError(key, 'unknown option; allowed: id, retention, onFailure');
      }
    }
    if (options.id !== undefined && (typeof options.id !== 'string' || !WORKFLOW_ID.test(options.id))) {
      throw new InvalidOptionError(
        'id',
        `got ${JSON.stringify(options.id)}; a workflow id is 1 to 100 characters of A-Z a-z 0-9 _ . : -`,
      );
    }
    const retentionMs =
      options.retention === undefined ? DEFAULT_WORKFLOW_RETENTION_MS : parseDuration(options.retention, 'retention');
    const now = this.p.clock.now();
    const plan = compilePlan(flow, this.p.codec, now);
    let onFailure = '';
    if (options.onFailure !== undefined) {
      if (typeof options.onFailure !== 'object' || options.onFailure === null || options.onFailure.kind !== 'task') {
        throw new InvalidOptionError('onFailure', 'expected a task() step');
      }
      const step = prefixPath('onFailure', () => compilePlan(options.onFailure as Flow, this.p.codec, now)).nodes[0];
      onFailure = nodeTemplate(step.type, step.payload, step.given);
    }
    const id = options.id ?? newTaskId();
    const dependents = plan.nodes.map((): number[] => []);
    for (const node of plan.nodes) for (const d of node.deps) dependents[d].push(node.index);
    // First steps are enqueued at once with the messages compiled for them; the workflow keeps them as prebuilt
    // lines until their dispatch is done (a client dying before that leaves them to the recovery round).
    const first: ReadyStep[] = [];
    const nodes: WorkflowNodeRecord[] = plan.nodes.map((n) => {
      let template = n.template;
      if (n.message) {
        const item = stepItem(workflowTaskId(id, n.index), n.message.value, n.message.encoded, n.options);
        first.push({ index: String(n.index), queue: n.queue, item });
        template = prebuiltStep(item);
      }
      return {
        info: formatNodeInfo({ type: n.type, queue: n.queue, dependents: dependents[n.index], input: n.input }),
        template,
        waitingFor: n.deps.length,
      };
    });
    await this.p.bound.run(async () => {
      // Indexed and marked due before it exists: a client that dies right after the create leaves a workflow the
      // recovery round dispatches.
      await this.p.broker.workflow.register(id, now, now + WORKFLOW_RECHECK_MS);
      const created = await this.p.broker.workflow.create(
        { id, nodes, resultExpr: JSON.stringify(plan.result), onFailure, retentionMs },
        now,
      );
      if (!created) throw new WorkflowIdConflictError(id);
      // The first tasks need no claim: their messages are here, and nothing can have failed yet.
      await this.p.dispatcher.dispatchFirst(id, first);
      // Created and dispatched: the safety look is not needed any more (the relays carry it from here).
      await this.p.broker.workflow.clearDue(id);
    });
    return {
      id,
      state: 'running',
      createdAt: new Date(now),
      tasks: plan.nodes.map((n) => ({
        id: workflowTaskId(id, n.index),
        type: n.type,
        queue: n.queue,
        state: n.deps.length === 0 ? 'pending' : 'waiting',
      })),
    };
  }

  /** Reads a workflow; null when there is none (or it expired after its retention). */
  async get(id: string): Promise<WorkflowInfo | null> {
    validateWorkflowId(id);
    const stored = await this.p.bound.run(() => this.p.broker.workflow.read(id));
    return stored ? toWorkflowInfo(id, stored, this.p.broker.producer) : null;
  }

  /**
   * Waits for a workflow to finish: resolves with its result; rejects with WorkflowFailedError (naming the task),
   * WorkflowCanceledError, WorkflowNotFoundError, or TaskTimeoutError after `timeout`. Notified, not polled.
   */
  async wait<R>(id: string, options: { timeout?: Duration; signal?: AbortSignal } = {}): Promise<R> {
    validateWorkflowId(id);
    const timeoutMs = parseOptionalDuration(options.timeout, 'timeout');
    this.subscribed ??= this.p.broker.notify.subscribeWorkflowDone((done) => void this.notify(done));
    await this.p.bound.run(() => this.subscribed as Promise<void>);
    return new Promise<R>((resolve, reject) => {
      let timer: Timer | undefined;
      const waiter: Waiter = {
        settle: (info) => {
          if (info?.state === 'running') return;
          cleanup();
          if (!info) reject(new WorkflowNotFoundError(id));
          else if (info.state === 'completed') resolve(info.result as R);
          else if (info.state === 'failed' && info.failure) reject(new WorkflowFailedError(id, info.failure));
          else reject(new WorkflowCanceledError(id));
        },
        fail: (err) => {
          cleanup();
          reject(err);
        },
      };
      const cleanup = (): void => {
        timer?.clear();
        options.signal?.removeEventListener('abort', onAbort);
        const set = this.waiters.get(id);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(id);
      };
      const onAbort = (): void => {
        cleanup();
        reject(options.signal?.reason ?? new Error('aborted'));
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = startTimer(this.p.clock, timeoutMs, () => {
          cleanup();
          reject(new TaskTimeoutError(`workflow "${id}" did not finish within ${timeoutMs} ms`));
        });
      }
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      set.add(waiter);
      // It may have finished before the subscription: read it once.
      void this.outcome(id).then(
        (outcome) => waiter.settle(outcome),
        (err: unknown) => waiter.fail(err),
      );
    });
  }

  /**
   * Cancels a running workflow: nothing more is enqueued, its waiting tasks are removed and its active ones' signals
   * fire. False when it is not running (or does not exist).
   */
  async cancel(id: string): Promise<boolean> {
    validateWorkflowId(id);
    return this.p.bound.run(async () => {
      const { state, unfinished } = await this.p.broker.workflow.cancel(id, this.p.clock.now());
      if (state !== 'canceled') return false;
      await Promise.all(
        unfinished.map(async ({ index, info }) => {
          const queue = info.split('\t')[1] ?? 'default';
          const taskId = workflowTaskId(id, index);
          const stored = await this.p.broker.producer.task(queue, taskId);
          const relay = stored ? relayForRemoval(taskId, stored.message, 'x', 'the workflow was canceled') : undefined;
          const outcome = await this.p.broker.producer.cancel(queue, taskId, { now: this.p.clock.now(), relay });
          if (outcome === 'active') await this.p.broker.producer.publishCancel(queue, taskId);
        }),
      );
      return true;
    });
  }

  /** Rejects every pending wait (the client closes). */
  close(reason: Error): void {
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.fail(reason);
    this.waiters.clear();
  }

  private async notify(id: string): Promise<void> {
    if (!this.waiters.has(id)) return;
    let outcome: WorkflowOutcome | undefined;
    try {
      outcome = await this.outcome(id);
    } catch (err) {
      for (const w of [...(this.waiters.get(id) ?? [])]) w.fail(err);
      return;
    }
    for (const w of [...(this.waiters.get(id) ?? [])]) w.settle(outcome);
  }

  /** How a workflow ended, without reading its tasks (a workflow of 10,000 would be a lookup each). */
  private async outcome(id: string): Promise<WorkflowOutcome | undefined> {
    const stored = await this.p.bound.run(() => this.p.broker.workflow.outcome(id));
    return stored ? toWorkflowOutcome(id, stored) : undefined;
  }
}

function validateWorkflowId(id: unknown): void {
  if (typeof id !== 'string' || !WORKFLOW_ID.test(id)) {
    throw new InvalidOptionError(
      'id',
      `got ${JSON.stringify(id)}; a workflow id is 1 to 100 characters of A-Z a-z 0-9 _ . : -`,
    );
  }
}

/** Runs a validation whose errors should name `path` first. */
function prefixPath<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InvalidOptionError) {
      throw new InvalidOptionError(
        `${path}.${err.field}`.replace(/\.flow$/, ''),
        err.message.replace(/^invalid [^:]*: /, ''),
      );
    }
    throw err;
  }
}
