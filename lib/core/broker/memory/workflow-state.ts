import { SortedSet } from './sorted-set.js';

/**
 * One workflow's structures in memory, the twins of its Redis keys (docs/architecture.md, `{w:<id>}:*`). The Redis
 * backend packs node infos and first-task templates 64 to a hash field to save Redis memory; here each task has its
 * own entry, and the first tasks wait in the outbox like any ready task until their dispatch: the same answers to
 * every operation.
 */
export class WorkflowState {
  /** `st`: running, completed, failed or canceled. */
  state = 'running';
  /** `left`: tasks not finished. */
  left: number;
  /** `ft`: finished ms. */
  finishedAt?: number;
  /** `fail`: the failure (JSON). */
  failure?: string;
  /** The node info of each task (`type \t queue \t dependents \t input`). */
  readonly nodes: string[];
  /** `tpl`: task index → template, until dispatched. */
  readonly templates = new Map<string, string>();
  /** `wait`: task index → inputs not completed yet. */
  readonly waiting = new Map<string, number>();
  /** `res`: task index → `c<JSON>` / `a<JSON>` / `x<JSON>`. */
  readonly results = new Map<string, string>();
  /** `out`: ready task indices (and `F`) → ready-at ms, not yet dispatched. */
  readonly outbox = new SortedSet();
  /** `disp` holding `F`: the onFailure task was dispatched. */
  onFailureDispatched = false;
  /** When every structure of the finished workflow expires (its retention, on the store's clock). */
  expiresAt?: number;

  constructor(
    readonly count: number,
    readonly createdAt: number,
    readonly retentionMs: number,
    /** `res`: the result expression (JSON). */
    readonly resultExpr: string,
    /** `onf`: the onFailure template ('' none). */
    readonly onFailure: string,
    nodes: string[],
  ) {
    this.left = count;
    this.nodes = nodes;
  }

  /** The node info of task `k` ('' when there is none). */
  nodeInfo(k: string | number): string {
    return this.nodes[Number(k)] ?? '';
  }

  /** The comma-separated dependents of task `k` (the third field of its node info). */
  dependents(k: string): string[] {
    const field = this.nodeInfo(k).split('\t')[2] ?? '';
    return field === '' ? [] : field.split(',');
  }

  /** The meta hash as HGETALL would read it. */
  meta(): Record<string, string> {
    const meta: Record<string, string> = {
      st: this.state,
      n: String(this.count),
      left: String(this.left),
      ct: String(this.createdAt),
      ret: String(this.retentionMs),
      res: this.resultExpr,
      onf: this.onFailure,
    };
    if (this.finishedAt !== undefined) meta.ft = String(this.finishedAt);
    if (this.failure !== undefined) meta.fail = this.failure;
    return meta;
  }
}

/** The task indices an input or result expression names (workflow-results.lua: expr_leaves). */
export function expressionLeaves(expr: unknown, into: string[] = []): string[] {
  if (typeof expr !== 'object' || expr === null) return into;
  const e = expr as { r?: number; a?: unknown[]; s?: number; n?: number };
  if (e.r !== undefined) into.push(String(e.r));
  if (e.s !== undefined && e.n !== undefined) for (let i = e.s; i < e.s + e.n; i++) into.push(String(i));
  if (Array.isArray(e.a)) for (const x of e.a) expressionLeaves(x, into);
  return into;
}
