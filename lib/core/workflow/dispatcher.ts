import type { ClaimedNode, EnqueueItem, ProducerOps, WorkflowOps } from '../broker/broker.js';
import { encodeMessage } from '../broker/codec.js';
import type { Clock } from '../clock.js';
import { resolveEnqueueOptions } from '../enqueue-options.js';
import type { WorkflowFailure } from '../errors.js';
import { toError } from '../errors.js';
import { uniqueDigest } from '../unique-lock.js';
import { parseNodeInfo } from './node-info.js';
import { decodeOptions, evaluate, type NodeTemplate } from './plan.js';
import { ON_FAILURE_INDEX, workflowTaskId } from './relay.js';

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

  /**
   * Dispatches outbox entries whose templates the caller has already (a workflow just created: its first tasks), with
   * no claim round trip.
   */
  async dispatchClaimed(
    id: string,
    claim: { failure: string; retentionMs: number; nodes: ClaimedNode[] },
  ): Promise<void> {
    if (claim.nodes.length === 0) return;
    const now = this.p.clock.now();
    const byQueue = new Map<string, { node: ClaimedNode; item: EnqueueItem }[]>();
    const unqueueable: { index: string; error: string }[] = [];
    for (const node of claim.nodes) {
      try {
        const prepared = this.prepare(id, node, claim, now);
        const list = byQueue.get(prepared.queue);
        if (list) list.push({ node, item: prepared.item });
        else byQueue.set(prepared.queue, [{ node, item: prepared.item }]);
      } catch (err) {
        unqueueable.push({ index: node.index, error: toError(err).message });
      }
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
            unqueueable.push({ index: list[i].node.index, error: 'its unique lock is held by another task' });
          }
        });
      }),
    );
    await this.p.workflow.dispatched(
      id,
      claim.nodes.map((n) => n.index),
    );
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
  ): { queue: string; item: EnqueueItem } {
    const template = JSON.parse(node.template) as NodeTemplate;
    const options = resolveEnqueueOptions(decodeOptions(template.o), now);
    let previous: unknown;
    if (node.index === ON_FAILURE_INDEX) {
      previous = describeFailure(id, claim.failure, node.info);
    } else {
      const results = new Map<number, unknown>();
      for (const [k, raw] of node.results) results.set(k, storedResult(raw));
      previous = evaluate(parseNodeInfo(node.info).input, results);
    }
    const message = {
      type: template.t,
      payload: template.p,
      readyAt: options.processAtMs ?? now,
      maxRetry: options.maxRetry,
      retried: 0,
      timeoutMs: options.timeoutMs,
      deadlineMs: options.deadlineMs,
      // A workflow task keeps its record at least as long as the workflow: a dispatch repeated after a crash then
      // finds it and enqueues nothing.
      retentionMs: Math.max(options.retentionMs, claim.retentionMs),
      headers: options.headers,
      workflow: node.index !== ON_FAILURE_INDEX ? true : undefined,
      previous,
      uniqueDigest: options.uniqueMs !== undefined ? uniqueDigest(template.t, template.p) : undefined,
    };
    const item: EnqueueItem = {
      id: workflowTaskId(id, node.index),
      message: encodeMessage(message),
      processAtMs: options.processAtMs,
      checkId: false,
    };
    if (message.uniqueDigest !== undefined && options.uniqueMs !== undefined) {
      item.unique = { type: template.t, digest: message.uniqueDigest, ttlMs: options.uniqueMs };
    }
    return { queue: options.queue, item };
  }
}
