import { resolveEnqueueOptions, type EnqueueOptions } from '../enqueue-options.js';
import { InvalidOptionError } from '../errors.js';
import { validateTaskType } from '../options.js';
import type { PayloadCodec } from '../payload-codec.js';
import type { Flow, TaskSpec } from './flow.js';

/** The most tasks one workflow may hold (members, steps and callbacks together). */
export const MAX_WORKFLOW_TASKS = 100_000;

/**
 * Where a step's input comes from: the result of task `r`, or an array of such inputs (a group's result, in member
 * order). A step with no input (the first of a workflow) has `undefined`.
 */
export type ResultExpr = { r: number } | { a: ResultExpr[] };

/** One task of a compiled workflow. */
export interface PlanNode {
  /** Its index in the workflow (its task id is `<workflow id>.<index>`). */
  index: number;
  type: string;
  queue: string;
  /** What it is enqueued with once ready: `{ t: type, p: encoded payload, o: options }` as JSON. */
  template: string;
  /** Its `task.previous`: undefined for a first step. */
  input?: ResultExpr;
  /** The tasks whose results `input` needs (it is ready once all of them completed). */
  deps: number[];
}

/** A compiled workflow: every task, and the expression of the workflow's own result. */
export interface Plan {
  nodes: PlanNode[];
  result: ResultExpr;
}

/** A stored template, as {@link PlanNode.template} holds it. */
export interface NodeTemplate {
  t: string;
  p: unknown;
  o: Record<string, unknown>;
}

/** Options as JSON: a Date becomes `{ $d: ms }`. */
function encodeOptions(options: EnqueueOptions | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value === undefined) continue;
    out[key] = value instanceof Date ? { $d: value.getTime() } : value;
  }
  return out;
}

/** The options a template carries, Dates restored. */
export function decodeOptions(o: Record<string, unknown>): EnqueueOptions {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    const date =
      typeof value === 'object' && value !== null && '$d' in value ? (value as { $d: number }).$d : undefined;
    out[key] = date === undefined ? value : new Date(date);
  }
  return out as EnqueueOptions;
}

/** The task indices an input needs. */
function leaves(expr: ResultExpr | undefined, into: Set<number>): Set<number> {
  if (expr === undefined) return into;
  if ('r' in expr) into.add(expr.r);
  else for (const e of expr.a) leaves(e, into);
  return into;
}

/** Prefixes a validation error with the path of the step it is about. */
function at(path: string, err: unknown): never {
  if (err instanceof InvalidOptionError) {
    const field = path === '' ? err.field : `${path}.${err.field}`;
    throw new InvalidOptionError(field, err.message.replace(/^invalid [^:]*: /, ''), { cause: err });
  }
  throw err;
}

const join = (path: string, part: string): string => (path === '' ? part : `${path}.${part}`);

/**
 * Validates a workflow and compiles it into its tasks. Every member's options are checked as an enqueue would check
 * them, and the codec must encode every payload; nothing is written if anything is wrong.
 * @throws InvalidOptionError naming the path of the bad step, e.g. `steps[1].members[3].options.queue`.
 */
export function compilePlan(flow: Flow, codec: PayloadCodec, now: number): Plan {
  const nodes: PlanNode[] = [];

  const addTask = (spec: TaskSpec, input: ResultExpr | undefined, path: string): ResultExpr => {
    if (nodes.length >= MAX_WORKFLOW_TASKS) {
      throw new InvalidOptionError('flow', `a workflow holds at most ${MAX_WORKFLOW_TASKS} tasks`);
    }
    try {
      validateTaskType(spec.type, 'type');
    } catch (err) {
      at(path, err);
    }
    if (/[\t\n]/.test(spec.type)) {
      throw new InvalidOptionError(join(path, 'type'), 'a workflow task type cannot contain a tab or a line break');
    }
    if (spec.options !== undefined && (typeof spec.options !== 'object' || spec.options === null)) {
      throw new InvalidOptionError(join(path, 'options'), 'expected an object of EnqueueOptions');
    }
    if (spec.options?.taskId !== undefined) {
      throw new InvalidOptionError(
        join(path, 'options.taskId'),
        'workflow tasks get their ids from the workflow (`<workflow id>.<index>`)',
      );
    }
    let queue: string;
    try {
      queue = resolveEnqueueOptions(spec.options, now).queue;
    } catch (err) {
      at(join(path, 'options'), err);
    }
    let encoded: unknown;
    let template: string;
    try {
      encoded = codec.encode(spec.payload);
      template = JSON.stringify({ t: spec.type, p: encoded, o: encodeOptions(spec.options) } satisfies NodeTemplate);
    } catch (err) {
      throw new InvalidOptionError(join(path, 'payload'), `it cannot be encoded (${(err as Error).message})`, {
        cause: err,
      });
    }
    const index = nodes.length;
    nodes.push({ index, type: spec.type, queue, template, input, deps: [...leaves(input, new Set())] });
    return { r: index };
  };

  const compile = (step: unknown, input: ResultExpr | undefined, path: string): ResultExpr => {
    const where = path === '' ? 'flow' : path;
    if (typeof step !== 'object' || step === null || !('kind' in step)) {
      throw new InvalidOptionError(where, 'expected a step built with task(), chain(), group() or chord()');
    }
    const spec = step as Flow;
    switch (spec.kind) {
      case 'task':
        return addTask(spec, input, path);
      case 'chain': {
        if (!Array.isArray(spec.steps) || spec.steps.length === 0) {
          throw new InvalidOptionError(join(path, 'steps'), 'a chain needs at least one step');
        }
        let last = input;
        spec.steps.forEach((s, i) => (last = compile(s, last, join(path, `steps[${i}]`))));
        return last as ResultExpr;
      }
      case 'group': {
        if (!Array.isArray(spec.members) || spec.members.length === 0) {
          throw new InvalidOptionError(
            join(path, 'members'),
            'a group needs at least one member (an empty group has no result)',
          );
        }
        return { a: spec.members.map((m, i) => compile(m, input, join(path, `members[${i}]`))) };
      }
      default:
        throw new InvalidOptionError(where, `unknown step kind ${JSON.stringify((spec as { kind: unknown }).kind)}`);
    }
  };

  const result = compile(flow, undefined, '');
  return { nodes, result };
}

/** The value of an input from the results of the tasks it names (a missing result reads as null). */
export function evaluate(expr: ResultExpr | undefined, results: ReadonlyMap<number, unknown>): unknown {
  if (expr === undefined) return undefined;
  if ('r' in expr) return results.has(expr.r) ? results.get(expr.r) : null;
  return expr.a.map((e) => evaluate(e, results));
}
