import type { ClaimedNode, EnqueueItem, ProducerOps, WorkflowOps } from '../broker/broker.js';
import { encodeMessage } from '../broker/codec.js';
import type { Clock } from '../clock.js';
import { resolveEnqueueOptions, type ResolvedEnqueueOptions } from '../enqueue-options.js';
import type { WorkflowFailure } from '../errors.js';
import { toError } from '../errors.js';
import { nodeInput, parseNodeInfo } from './node-info.js';
import { decodeOptions, evaluate, type NodeTemplate } from './plan.js';
import { ON_FAILURE_INDEX, workflowTaskId } from './relay.js';
import { isPrebuiltStep, prebuiltItem, stepItem, stepMessage } from './step-message.js';

/** A step ready to enqueue: its index in the workflow, its queue and its enqueue item. */
export interface ReadyStep {
  index: string;
  queue: string;
  item: EnqueueItem;
}

/** What the dispatcher needs. */
export interface DispatcherParams {
  workflow: Pick<WorkflowOps, 'claim' | 'dispatched' | 'advance'>;
  producer: Pick<ProducerOps, 'enqueue' | 'registerQueues'>;
  clock: Clock;
}

/** The failure a workflow records (workflow-advance.lua): the task index, how it finished, its error (JSON). */
interface StoredFailure {
  k: number;
  s: string;
  e: string;
}

/** A workflow's failure, for its onFailure task and for WorkflowInfo. */
export function describeFailure(workflowId: string, raw: string, nodeInfo: string): WorkflowFailure | undefined {
  if (raw === '') return undefined;
  let f: StoredFailure;
  try {
    f = JSON.parse(raw) as StoredFailure;
  } catch {
    return undefined;
  }
  let error: string;
  try {
    const decoded: unknown = JSON.parse(f.e);
    error = typeof decoded === 'string' ? decoded : JSON.stringify(decoded);
  } catch {
    error = f.e;
  }
  const info = parseNodeInfo(nodeInfo);
  return { taskId: workflowTaskId(workflowId, f.k), type: info.type, queue: info.queue, error };
}

/** Reads a stored result (`c<JSON>`); a missing or unreadable one reads as null. */
export function storedResult(raw: string | undefined): unknown {
  if (raw === undefined || !raw.startsWith('c')) return null;
  try {
    return JSON.parse(raw.slice(1)) as unknown;
  } catch {
    return null;
  }
}

/**
 * Enqueues a workflow's ready tasks (its outbox) into their queues, each with the results it takes as
 * `task.previous`, then takes them out of the outbox. Ids are `<workflow id>.<index>` and enqueueing an existing id
 * is a no-op, so a dispatch repeated after a crash (by the recovery round) never enqueues a task twice: tasks of a
 * workflow keep their records at least as long as the workflow (their retention covers its retention).
 */
export class WorkflowDispatcher {
  private readonly knownQueues = new Set<string>();

  constructor(private readonly p: DispatcherParams) {}

  /** Dispatches the given outbox entries of workflow `id` (those no longer to dispatch are skipped). */
  async dispatch(id: string, indices: string[]): Promise<void> {
    if (indices.length === 0) return;
    await this.dispatchClaimed(id, await this.p.workflow.claim(id, indices));
  }

  /** Dispatches claimed outbox entries: builds each one's message from its template and enqueues them. */
  private async dispatchClaimed(
    id: string,
    claim: { failure: string; retentionMs: number; nodes: ClaimedNode[] },
  ): Promise<void> {
    if (claim.nodes.length === 0) return;
    const now = this.p.clock.now();
    const steps: ReadyStep[] = [];
    const unqueueable: { index: string; error: string }[] = [];
    const resolved = new Map<string, ResolvedEnqueueOptions>();
    for (const node of claim.nodes) {
      try {
        steps.push({ index: node.index, ...this.prepare(id, node, claim, now, resolved) });
      } catch (err) {
        unqueueable.push({ index: node.index, error: toError(err).message });
      }
    }
    await this.enqueueSteps(id, steps, unqueueable, now);
  }

  /**
   * Enqueues a new workflow's first steps, whose messages its client built already (no claim round trip, no
   * template), then records their dispatch.
   */
  dispatchFirst(id: string, steps: ReadyStep[]): Promise<void> {
    return this.enqueueSteps(id, steps, [], this.p.clock.now());
  }

  private async enqueueSteps(
    id: string,
    steps: ReadyStep[],
    unqueueable: { index: string; error: string }[],
    now: number,
  ): Promise<void> {
    const byQueue = new Map<string, ReadyStep[]>();
    for (const step of steps) {
      const list = byQueue.get(step.queue);
      if (list) list.push(step);
      else byQueue.set(step.queue, [step]);
    }
    const fresh = [...byQueue.keys()].filter((q) => !this.knownQueues.has(q));
    if (fresh.length > 0) {
      await this.p.producer.registerQueues(fresh);
      for (const q of fresh) this.knownQueues.add(q);
    }
    await Promise.all(
      [...byQueue].map(async ([queue, list]) => {
        const outcomes = await this.p.producer.enqueue(
          queue,
          list.map((e) => e.item),
          now,
        );
        outcomes.forEach((outcome, i) => {
          // A unique lock held by another task: this task cannot run, so the workflow cannot complete.
          if (outcome === 'duplicate') {
            unqueueable.push({ index: list[i].index, error: 'its unique lock is held by another task' });
          }
        });
      }),
    );
    const done = new Set(steps.map((s) => s.index));
    for (const u of unqueueable) done.add(u.index);
    await this.p.workflow.dispatched(id, [...done]);
    const failed = unqueueable.filter((u) => u.index !== ON_FAILURE_INDEX);
    if (failed.length > 0) {
      const { outbox } = await this.p.workflow.advance(
        id,
        failed.map((u) => ({ index: u.index, state: 'a', data: JSON.stringify(`could not be enqueued: ${u.error}`) })),
        this.p.clock.now(),
        false,
      );
      // The failure may have made the onFailure task ready.
      if (outbox.includes(ON_FAILURE_INDEX)) await this.dispatch(id, [ON_FAILURE_INDEX]);
    }
  }

  private prepare(
    id: string,
    node: ClaimedNode,
    claim: { failure: string; retentionMs: number },
    now: number,
    resolved: Map<string, ResolvedEnqueueOptions>,
  ): { queue: string; item: EnqueueItem } {
    const taskId = workflowTaskId(id, node.index);
    // A first step whose dispatch the creating client did not finish: its message was built already.
    if (isPrebuiltStep(node.template)) {
      return { queue: parseNodeInfo(node.info).queue, item: prebuiltItem(taskId, node.template) };
    }
    const template = JSON.parse(node.template) as NodeTemplate;
    // Members of a group mostly share their options: resolve each distinct set once per dispatch.
    const key = JSON.stringify(template.o);
    let options = resolved.get(key);
    if (!options) resolved.set(key, (options = resolveEnqueueOptions(decodeOptions(template.o), now)));
    let previous: unknown;
    if (node.index === ON_FAILURE_INDEX) {
      previous = describeFailure(id, claim.failure, node.info);
    } else {
      const input = nodeInput(node.info);
      if (input !== undefined) {
        const results = new Map<number, unknown>();
        for (const [k, raw] of node.results) results.set(k, storedResult(raw));
        previous = evaluate(input, results);
      }
    }
    const message = stepMessage({
      type: template.t,
      payload: template.p,
      options,
      previous,
      workflowRetentionMs: claim.retentionMs,
      member: node.index !== ON_FAILURE_INDEX,
      now,
    });
    return { queue: options.queue, item: stepItem(taskId, message, encodeMessage(message), options) };
  }
}
