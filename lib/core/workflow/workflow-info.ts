import type { ProducerOps, StoredWorkflow, StoredWorkflowOutcome } from '../broker/broker.js';
import type { WorkflowFailure } from '../errors.js';
import { describeFailure, storedResult } from './dispatcher.js';
import { parseNodeInfo } from './node-info.js';
import { evaluate, type ResultExpr } from './plan.js';
import { workflowTaskId } from './relay.js';
import type { WorkflowInfo, WorkflowState, WorkflowTaskInfo } from './types.js';

/** Reads a stored error (`a<JSON string>` or `x<JSON string>`). */
function storedError(raw: string): string {
  try {
    const v: unknown = JSON.parse(raw.slice(1));
    return typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    return raw.slice(1);
  }
}

/**
 * Builds the WorkflowInfo of a stored workflow. Finished tasks come from the workflow's own record; tasks dispatched
 * and not finished are read from their queues (their live state), the others are `waiting`.
 */
export async function toWorkflowInfo(
  id: string,
  stored: StoredWorkflow,
  producer: Pick<ProducerOps, 'task'>,
): Promise<WorkflowInfo> {
  const { meta } = stored;
  const count = Number(meta.n ?? 0);
  const dispatched = new Set(stored.dispatched);
  const results = new Map<number, unknown>();
  const tasks: WorkflowTaskInfo[] = [];
  const live: Promise<void>[] = [];
  for (let k = 0; k < count; k++) {
    const info = parseNodeInfo(stored.nodes[k] ?? '');
    const task: WorkflowTaskInfo = { id: workflowTaskId(id, k), type: info.type, queue: info.queue, state: 'waiting' };
    const raw = stored.results[k];
    if (raw !== undefined) {
      if (raw.startsWith('c')) {
        task.state = 'completed';
        task.result = storedResult(raw);
        results.set(k, task.result);
      } else {
        task.state = 'archived';
        task.lastError = storedError(raw);
      }
    } else if (dispatched.has(String(k))) {
      task.state = 'pending';
      live.push(
        producer.task(info.queue, task.id).then((t) => {
          if (t) task.state = t.state;
        }),
      );
    }
    tasks.push(task);
  }
  if (dispatched.has('F')) {
    const failed = describeFailure(id, meta.fail ?? '', '');
    const onFailure = meta.onf ? (JSON.parse(meta.onf) as { t: string; o: { queue?: string } }) : undefined;
    if (onFailure && failed) {
      const task: WorkflowTaskInfo = {
        id: workflowTaskId(id, 'F'),
        type: onFailure.t,
        queue: onFailure.o.queue ?? 'default',
        state: 'pending',
      };
      live.push(
        producer.task(task.queue, task.id).then((t) => {
          task.state = t ? t.state : 'completed';
        }),
      );
      tasks.push(task);
    }
  }
  await Promise.all(live);
  const info: WorkflowInfo = {
    id,
    state: (meta.st ?? 'running') as WorkflowState,
    createdAt: new Date(Number(meta.ct ?? 0)),
    tasks,
  };
  if (meta.ft) info.finishedAt = new Date(Number(meta.ft));
  const failedNode = meta.fail ? (stored.nodes[(JSON.parse(meta.fail) as { k: number }).k] ?? '') : '';
  const outcome = outcomeOf(id, info.state, meta.res ?? '', meta.fail ?? '', failedNode, results);
  if ('result' in outcome) info.result = outcome.result;
  if (outcome.failure) info.failure = outcome.failure;
  return info;
}

/** How a workflow ended (or that it runs): what waitForWorkflow settles with. */
export interface WorkflowOutcome {
  state: WorkflowState;
  /** Once completed. */
  result?: unknown;
  /** Once failed. */
  failure?: WorkflowFailure;
}

/** The outcome of a workflow read with WorkflowOps.outcome. */
export function toWorkflowOutcome(id: string, stored: StoredWorkflowOutcome): WorkflowOutcome {
  const results = new Map<number, unknown>();
  for (const [k, raw] of Object.entries(stored.results)) results.set(Number(k), storedResult(raw));
  return outcomeOf(id, stored.state as WorkflowState, stored.resultExpr, stored.failure, stored.failedNode, results);
}

function outcomeOf(
  id: string,
  state: WorkflowState,
  resultExpr: string,
  failure: string,
  failedNode: string,
  results: ReadonlyMap<number, unknown>,
): WorkflowOutcome {
  const outcome: WorkflowOutcome = { state };
  if (state === 'completed' && resultExpr) outcome.result = evaluate(JSON.parse(resultExpr) as ResultExpr, results);
  const described = failure ? describeFailure(id, failure, failedNode) : undefined;
  if (described) outcome.failure = described;
  return outcome;
}
