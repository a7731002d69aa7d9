import type { ResultExpr } from './plan.js';

/**
 * A workflow task's stored node info: `type \t queue \t dependents \t input`: what getWorkflow lists, which tasks
 * wait for this one (comma-separated indices, read by workflow-advance.lua), and its input expression (JSON, read
 * by workflow-claim.lua). Task types and queue names have no tabs (queue names are `[A-Za-z0-9_.:-]`; a type with a
 * tab is refused when the workflow is created).
 */
export interface NodeInfo {
  type: string;
  queue: string;
  dependents: number[];
  input?: ResultExpr;
}

/** The stored form. */
export function formatNodeInfo(n: NodeInfo): string {
  return `${n.type}\t${n.queue}\t${n.dependents.join(',')}\t${n.input === undefined ? '' : JSON.stringify(n.input)}`;
}

/**
 * Only the input expression of a stored node info (undefined: none, or unreadable): what a dispatch needs, without
 * splitting the rest.
 */
export function nodeInput(raw: string): ResultExpr | undefined {
  const tab = raw.lastIndexOf('\t');
  if (tab < 0 || tab === raw.length - 1) return undefined;
  try {
    return JSON.parse(raw.slice(tab + 1)) as ResultExpr;
  } catch {
    return undefined;
  }
}

/** Reads the stored form (an unreadable one reads as an unknown task). */
export function parseNodeInfo(raw: string): NodeInfo {
  const [type = '', queue = '', dependents = '', input = ''] = raw.split('\t');
  let parsed: ResultExpr | undefined;
  try {
    parsed = input === '' ? undefined : (JSON.parse(input) as ResultExpr);
  } catch {
    parsed = undefined;
  }
  return { type, queue, dependents: dependents === '' ? [] : dependents.split(',').map(Number), input: parsed };
}
