import type { ProducerOps, StoredWorkflow } from '../broker/broker.js';
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
  if (info.state === 'completed' && meta.res) info.result = evaluate(JSON.parse(meta.res) as ResultExpr, results);
  if (meta.fail) {
    const failedIndex = (JSON.parse(meta.fail) as { k: number }).k;
    const failure = describeFailure(id, meta.fail, stored.nodes[failedIndex] ?? '');
    if (failure) info.failure = failure;
  }
  return info;
}
