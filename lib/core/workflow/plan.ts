import { resolveEnqueueOptions, type EnqueueOptions, type ResolvedEnqueueOptions } from '../enqueue-options.js';
import { InvalidOptionError } from '../errors.js';
import { validateTaskType } from '../options.js';
import type { PayloadCodec } from '../payload-codec.js';
import { encodeMessage, type TaskMessage } from '../broker/codec.js';
import type { Flow, TaskSpec } from './flow.js';
import { stepMessage } from './step-message.js';

/** The most tasks one workflow may hold (members, steps and callbacks together). */
export const MAX_WORKFLOW_TASKS = 100_000;

/**
 * Where a step's input comes from: the result of task `r`, an array of such inputs (a group's result, in member
 * order), or `{ s, n }`: the array of the results of tasks s..s+n-1 (a group of single tasks). A step with no input
 * (the first of a workflow) has `undefined`.
 */
export type ResultExpr = { r: number } | { a: ResultExpr[] } | { s: number; n: number };

/** One task of a compiled workflow. */
export interface PlanNode {
  /** Its index in the workflow (its task id is `<workflow id>.<index>`). */
  index: number;
  type: string;
  queue: string;
  /**
   * What it is enqueued with once ready: `{ t: type, p: encoded payload, o: options }` as JSON; '' for a first step
   * (no input: it is enqueued at once from `payload` and `options`, see first-tasks.ts).
   */
  template: string;
  /** The encoded payload. */
  payload: unknown;
  /** Its options, resolved when the workflow was compiled. */
  options: ResolvedEnqueueOptions;
  /** Its options as given (what a template stores). */
  given?: EnqueueOptions;
  /** A first step: its task message, built once (step-message.ts). */
  message?: { value: TaskMessage; encoded: string };
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

/** A first step's message around its payload, shared by the steps of one type and one set of options. */
interface FirstStepFrame {
  value: TaskMessage;
  /** The encoded message cut where the payload goes (undefined: encode each one whole, e.g. a unique step). */
  around?: [before: string, after: string];
}

const PAYLOAD_MARK = '\u0000taskq:payload\u0000';
const MARK_JSON = JSON.stringify(PAYLOAD_MARK);

/**
 * A first step's message (its own retention only: see step-message.ts for why its record need not outlive it). Steps
 * of one type and options differ only by their payload, so the message is encoded once around a mark and each step's
 * is the payload's JSON put in its place: a group of 10,000 costs 10,000 small JSON.stringify calls, not 10,000
 * message objects encoded whole.
 */
function firstStepMessage(
  frames: Map<ResolvedEnqueueOptions, Map<string, FirstStepFrame>>,
  type: string,
  payload: unknown,
  options: ResolvedEnqueueOptions,
  now: number,
): { value: TaskMessage; encoded: string } {
  const source = { type, payload, options, previous: undefined, workflowRetentionMs: 0, member: true, now };
  // A unique step's digest depends on its payload, and an absent payload leaves no field: those are encoded whole.
  if (options.uniqueMs !== undefined || payload === undefined) {
    const value = stepMessage(source);
    return { value, encoded: encodeMessage(value) };
  }
  let byType = frames.get(options);
  if (!byType) frames.set(options, (byType = new Map()));
  let frame = byType.get(type);
  if (!frame) {
    const value = stepMessage({ ...source, payload: PAYLOAD_MARK });
    const encoded = encodeMessage(value);
    const at = encoded.indexOf(MARK_JSON);
    frame = { value, around: at < 0 ? undefined : [encoded.slice(0, at), encoded.slice(at + MARK_JSON.length)] };
    byType.set(type, frame);
  }
  const value = { ...frame.value, payload };
  const json = JSON.stringify(payload) as string | undefined;
  if (!frame.around || json === undefined) return { value, encoded: encodeMessage(value) };
  return { value, encoded: frame.around[0] + json + frame.around[1] };
}

/** The stored template of a step (workflow-claim.lua hands it to the dispatcher once the step is ready). */
export function nodeTemplate(type: string, encodedPayload: unknown, options: EnqueueOptions | undefined): string {
  return JSON.stringify({ t: type, p: encodedPayload, o: encodeOptions(options) } satisfies NodeTemplate);
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

/**
 * A group's result expression: `{ s, n }` when its members are the single tasks s..s+n-1 (a plain group, the usual
 * case: its callback's input then takes a few bytes, not ~12 per member), else the array of the members' own.
 */
function runOf(members: ResultExpr[]): ResultExpr {
  const first = members[0];
  if (first === undefined || !('r' in first)) return { a: members };
  for (let i = 1; i < members.length; i++) {
    const m = members[i];
    if (!('r' in m) || m.r !== first.r + i) return { a: members };
  }
  return members.length === 1 ? { a: members } : { s: first.r, n: members.length };
}

/** The task indices an input needs. */
function leaves(expr: ResultExpr | undefined, into: Set<number>): Set<number> {
  if (expr === undefined) return into;
  if ('r' in expr) into.add(expr.r);
  else if ('s' in expr) for (let i = expr.s; i < expr.s + expr.n; i++) into.add(i);
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
  // The members of a group mostly share their type and options: check and resolve each once, and build their
  // messages from one template (firstStepFrame).
  const validTypes = new Set<string>();
  const resolvedByOptions = new Map<object | undefined, ResolvedEnqueueOptions>();
  const frames = new Map<ResolvedEnqueueOptions, Map<string, FirstStepFrame>>();

  const addTask = (spec: TaskSpec, input: ResultExpr | undefined, path: string): ResultExpr => {
    if (nodes.length >= MAX_WORKFLOW_TASKS) {
      throw new InvalidOptionError('flow', `a workflow holds at most ${MAX_WORKFLOW_TASKS} tasks`);
    }
    if (!validTypes.has(spec.type)) {
      try {
        validateTaskType(spec.type, 'type');
      } catch (err) {
        at(path, err);
      }
      if (/[\t\n]/.test(spec.type)) {
        throw new InvalidOptionError(join(path, 'type'), 'a workflow task type cannot contain a tab or a line break');
      }
      validTypes.add(spec.type);
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
    let options = resolvedByOptions.get(spec.options);
    if (!options) {
      try {
        options = resolveEnqueueOptions(spec.options, now);
      } catch (err) {
        at(join(path, 'options'), err);
      }
      resolvedByOptions.set(spec.options, options);
    }
    let encoded: unknown;
    let template = '';
    let message: PlanNode['message'];
    try {
      encoded = codec.encode(spec.payload);
      // A first step is enqueued at once: its message is built here, once. Later steps wait as a template.
      if (input !== undefined) template = nodeTemplate(spec.type, encoded, spec.options);
      else message = firstStepMessage(frames, spec.type, encoded, options, now);
    } catch (err) {
      throw new InvalidOptionError(join(path, 'payload'), `it cannot be encoded (${(err as Error).message})`, {
        cause: err,
      });
    }
    const index = nodes.length;
    nodes.push({
      index,
      type: spec.type,
      queue: options.queue,
      template,
      payload: encoded,
      options,
      given: spec.options,
      message,
      input,
      deps: input === undefined ? [] : [...leaves(input, new Set())],
    });
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
        return runOf(spec.members.map((m, i) => compile(m, input, join(path, `members[${i}]`))));
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
  if ('s' in expr) {
    const out: unknown[] = [];
    for (let i = expr.s; i < expr.s + expr.n; i++) out.push(results.has(i) ? results.get(i) : null);
    return out;
  }
  return expr.a.map((e) => evaluate(e, results));
}
