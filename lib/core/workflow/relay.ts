import type { FinishedTask } from '../broker/broker.js';
import { decodeMessage } from '../broker/codec.js';

/**
 * How a finished workflow task reaches its workflow. The task lives in its queue's slot, the workflow in its own, so
 * no script can do both: the finalize script of the task records a relay entry in its queue (in the same atomic step
 * as the finish), and the entry is applied to the workflow after (workflow/advancer.ts), by the worker at once or by
 * any worker's recovery round if that worker died. Applying is idempotent, so an entry applied twice is harmless.
 *
 * The entry is `<workflow id>\t<task index>\t<state>\t<data>`: state `c` completed (data: the result JSON), `a`
 * archived or `x` canceled (data: the error as a JSON string). Workflow ids have no tabs (workflow ids are
 * `[A-Za-z0-9_.:-]`).
 */

/** The index of a workflow's onFailure task. */
export const ON_FAILURE_INDEX = 'F';

/** The id of task `index` of workflow `workflowId`. */
export function workflowTaskId(workflowId: string, index: number | string): string {
  return `${workflowId}.${index}`;
}

/** The workflow id and task index of a workflow task's id. */
export function parseWorkflowTaskId(taskId: string): { workflowId: string; index: string } | undefined {
  const dot = taskId.lastIndexOf('.');
  if (dot <= 0 || dot === taskId.length - 1) return undefined;
  return { workflowId: taskId.slice(0, dot), index: taskId.slice(dot + 1) };
}

/** The relay entry of a finished workflow task. */
export function relayEntry(taskId: string, state: FinishedTask['state'], dataJson: string): string | undefined {
  const parsed = parseWorkflowTaskId(taskId);
  if (!parsed || parsed.index === ON_FAILURE_INDEX) return undefined;
  return `${parsed.workflowId}\t${parsed.index}\t${state}\t${dataJson === '' ? 'null' : dataJson}`;
}

/** The relay entry for a task removed by hand (cancel, delete, archive), when the stored message is a workflow task's. */
export function relayForRemoval(taskId: string, message: string, state: 'a' | 'x', reason: string): string | undefined {
  try {
    if (!decodeMessage(message).workflow) return undefined;
  } catch {
    return undefined;
  }
  return relayEntry(taskId, state, JSON.stringify(reason));
}

/** Reads a relay entry; undefined when it is malformed. */
export function parseRelay(entry: string): { workflowId: string; finished: FinishedTask } | undefined {
  const a = entry.indexOf('\t');
  const b = a < 0 ? -1 : entry.indexOf('\t', a + 1);
  const c = b < 0 ? -1 : entry.indexOf('\t', b + 1);
  if (c < 0) return undefined;
  const state = entry.slice(b + 1, c);
  if (state !== 'c' && state !== 'a' && state !== 'x') return undefined;
  return { workflowId: entry.slice(0, a), finished: { index: entry.slice(a + 1, b), state, data: entry.slice(c + 1) } };
}
