import type { TaskState } from '../../task.js';
import type {
  ArchiveItem,
  ClaimedNode,
  CompleteItem,
  EnqueueItem,
  FinishedTask,
  LeasedItem,
  RecoverItem,
  RetryItem,
  StoredTask,
  StoredWorkflowOutcome,
  WorkflowRecord,
} from '../broker.js';
import { CancelCode, enqueueOutcome, taskOpOutcome, UpsertCode, type TickCode } from '../script-codes.js';
import { NODES_PER_FIELD, type QueueKeys, type WorkflowKeys } from './keys.js';
import type { ScriptArg, ScriptCall, ScriptDef, ScriptName } from './scripts.js';

/**
 * Every script call in one typed table: per script, the KEYS it is given (from the queue's keys, in the order its
 * header lists them) and its ARGV, built from typed parameters, and the decoder of its reply. Call sites pass typed
 * parameters and get typed results; no KEYS array is built and no reply is cast anywhere else.
 */

const script = <P, R>(
  name: ScriptName,
  build: (p: P) => ScriptCall,
  decode: (reply: unknown) => R,
): ScriptDef<P, R> => ({
  name,
  build,
  decode,
});

const asStrings = (reply: unknown): string[] => (Array.isArray(reply) ? (reply as string[]) : []);
const asNumber = (reply: unknown): number => Number(reply);

/** Appends an optional key and returns its 1-based KEYS index (0: none), as the scripts reference optional keys. */
function optionalKey(keys: string[], key: string | undefined): number {
  if (key === undefined) return 0;
  keys.push(key);
  return keys.length;
}

interface Queue {
  k: QueueKeys;
}

/** Leased items as `id, lease score` pairs. */
function leasedArgs(args: ScriptArg[], items: readonly LeasedItem[]): ScriptArg[] {
  for (const item of items) args.push(item.id, item.leaseScore);
  return args;
}

export const enqueueScript = script(
  'enqueue',
  ({ k, items, now }: Queue & { items: readonly EnqueueItem[]; now: number }) => {
    const keys = [k.tasks, k.pending, k.scheduled, k.wake, k.waiters, k.idle, k.paused, k.lease, k.active];
    const args: ScriptArg[] = [items.length, now];
    for (const item of items) {
      const uniqueIndex = optionalKey(keys, item.unique && k.unique(item.unique.type, item.unique.digest));
      args.push(
        item.id,
        item.message,
        item.processAtMs ?? 0,
        item.checkId ? 1 : 0,
        uniqueIndex,
        item.unique?.ttlMs ?? 0,
        item.awaited ? 1 : 0,
      );
    }
    return { keys, args };
  },
  (reply) => (reply as number[]).map(enqueueOutcome),
);

export const dequeueScript = script(
  'dequeue',
  ({ k, count, leaseScore }: Queue & { count: number; leaseScore: string }) => ({
    keys: [k.pending, k.tasks, k.active, k.lease, k.paused, k.wake],
    args: [count, leaseScore],
  }),
  (reply) => {
    const flat = reply as (string | number)[];
    const tasks: { id: string; message: string }[] = [];
    for (let i = 1; i < flat.length; i += 2) tasks.push({ id: flat[i] as string, message: flat[i + 1] as string });
    return { tasks, dueChanged: flat[0] === 1 };
  },
);

export const completeScript = script(
  'complete',
  ({
    k,
    items,
    now,
    day,
    expireAt,
  }: Queue & { items: readonly CompleteItem[]; now: number; day: string; expireAt: number }) => {
    const keys = [k.tasks, k.lease, k.active, k.completed, k.waiters, k.processed, k.processedOn(day), k.workflowRelay];
    const args: ScriptArg[] = [expireAt, k.done, now, items.length];
    for (const item of items) {
      const uniqueIndex = optionalKey(keys, item.unique && k.unique(item.unique.type, item.unique.digest));
      args.push(
        item.id,
        item.leaseScore,
        item.retainUntilMs,
        item.message,
        uniqueIndex,
        item.resultJson,
        item.relay ?? '',
      );
    }
    return { keys, args };
  },
  asStrings,
);

export const retryScript = script(
  'retry',
  ({ k, items, day, expireAt }: Queue & { items: readonly RetryItem[]; day: string; expireAt: number }) => {
    const args: ScriptArg[] = [expireAt, items.length];
    for (const item of items)
      args.push(item.id, item.leaseScore, item.message, item.retryAtMs, item.countsAsFailure ? 1 : 0);
    return {
      keys: [k.tasks, k.lease, k.active, k.retry, k.wake, k.processed, k.processedOn(day), k.failed, k.failedOn(day)],
      args,
    };
  },
  asStrings,
);

export const archiveScript = script(
  'archive',
  ({ k, items, now, day, expireAt, maxArchived, maxAgeMs }: Queue & ArchiveParams) => {
    const args: ScriptArg[] = [now, expireAt, k.done, maxArchived, maxAgeMs, items.length];
    for (const item of items) args.push(item.id, item.leaseScore, item.message, item.lastError, item.relay ?? '');
    return {
      keys: [
        k.tasks,
        k.lease,
        k.active,
        k.archived,
        k.waiters,
        k.processed,
        k.processedOn(day),
        k.failed,
        k.failedOn(day),
        k.workflowRelay,
      ],
      args,
    };
  },
  asStrings,
);

interface ArchiveParams {
  items: readonly ArchiveItem[];
  now: number;
  day: string;
  expireAt: number;
  maxArchived: number;
  maxAgeMs: number;
}

export const requeueScript = script(
  'requeue',
  ({ k, items }: Queue & { items: readonly LeasedItem[] }) => ({
    keys: [k.lease, k.active, k.pending, k.wake],
    args: leasedArgs([items.length], items),
  }),
  asStrings,
);

export const extendLeaseScript = script(
  'extend-lease',
  ({ k, items, newScore }: Queue & { items: readonly LeasedItem[]; newScore: string }) => ({
    keys: [k.lease],
    args: leasedArgs([newScore, items.length], items),
  }),
  asStrings,
);

export const forwardScript = script(
  'forward',
  ({ k, now, limit }: Queue & { now: number; limit: number }) => ({
    keys: [k.scheduled, k.retry, k.pending, k.wake],
    args: [now, limit],
  }),
  (reply) => {
    const [moved, next] = reply as [number, string];
    const nextDue = Number(next);
    return { moved, nextDue: nextDue < 0 ? undefined : nextDue };
  },
);

export const recoverScript = script(
  'recover',
  ({
    k,
    items,
    now,
    day,
    expireAt,
  }: Queue & { items: readonly RecoverItem[]; now: number; day: string; expireAt: number }) => {
    const args: ScriptArg[] = [now, expireAt, k.done, items.length];
    for (const item of items) {
      args.push(item.id, item.seenScore, item.message, item.action, item.lastError, item.relay ?? '');
    }
    return {
      keys: [
        k.tasks,
        k.lease,
        k.active,
        k.pending,
        k.archived,
        k.wake,
        k.waiters,
        k.processed,
        k.processedOn(day),
        k.failed,
        k.failedOn(day),
        k.workflowRelay,
      ],
      args,
    };
  },
  asNumber,
);

export const janitorScript = script(
  'janitor',
  ({ k, now, batch, maxAgeMs }: Queue & { now: number; batch: number; maxAgeMs: number }) => ({
    keys: [k.tasks, k.completed, k.archived, k.idle],
    args: [now, batch, maxAgeMs],
  }),
  asNumber,
);

export const cancelScript = script(
  'cancel',
  ({ k, id, uniqueKey, relay, now }: Queue & { id: string; uniqueKey?: string; relay?: string; now: number }) => {
    const keys = [k.tasks, k.pending, k.scheduled, k.retry, k.lease, k.active, k.wake, k.workflowRelay];
    optionalKey(keys, uniqueKey);
    return { keys, args: [id, relay ?? '', now] };
  },
  (reply): 'removed' | 'active' | 'none' => {
    const code = Number(reply);
    return code === CancelCode.Removed ? 'removed' : code === CancelCode.Active ? 'active' : 'none';
  },
);

export const taskInfoScript = script(
  'task-info',
  ({ k, id }: Queue & { id: string }) => ({
    keys: [k.tasks, k.lease, k.active, k.scheduled, k.retry, k.archived, k.completed],
    args: [id],
  }),
  (reply): StoredTask | undefined => {
    const r = asStrings(reply);
    if (r.length === 0) return undefined;
    return { message: r[0], state: r[1] as TaskState, score: r[2] === '' ? undefined : Number(r[2]) };
  },
);

export const runTaskScript = script(
  'run-task',
  ({ k, id, rewrite }: Queue & { id: string; rewrite?: { expected: string; next: string } }) => ({
    keys: [k.tasks, k.scheduled, k.retry, k.archived, k.lease, k.pending, k.wake, k.completed, k.active],
    args: rewrite ? [id, rewrite.expected, rewrite.next] : [id],
  }),
  (reply) => taskOpOutcome(asNumber(reply)),
);

export const archiveTaskScript = script(
  'archive-task',
  ({ k, id, now, relay }: Queue & { id: string; now: number; relay?: string }) => ({
    keys: [k.tasks, k.pending, k.scheduled, k.retry, k.archived, k.lease, k.completed, k.active, k.workflowRelay],
    args: [id, now, relay ?? ''],
  }),
  (reply) => taskOpOutcome(asNumber(reply)),
);

export const deleteTaskScript = script(
  'delete-task',
  ({ k, id, uniqueKey, relay, now }: Queue & { id: string; uniqueKey?: string; relay?: string; now: number }) => {
    const keys = [
      k.tasks,
      k.pending,
      k.scheduled,
      k.retry,
      k.archived,
      k.completed,
      k.lease,
      k.active,
      k.workflowRelay,
    ];
    optionalKey(keys, uniqueKey);
    return { keys, args: [id, relay ?? '', now] };
  },
  (reply) => taskOpOutcome(asNumber(reply)),
);

export const pauseScript = script(
  'pause',
  ({ k, now }: Queue & { now: number }) => ({ keys: [k.paused], args: [now] }),
  asNumber,
);

export const unpauseScript = script(
  'unpause',
  ({ k }: Queue) => ({ keys: [k.paused, k.pending, k.wake], args: [] }),
  asNumber,
);

export const schedulerTickScript = script(
  'scheduler-tick',
  ({ k, count, blob }: Queue & { count: number; blob: string }) => ({
    keys: [k.cronEntries, k.cronState, k.tasks, k.pending, k.scheduled, k.wake],
    args: [count, blob],
  }),
  (reply) => (reply as (number | string)[]).map(Number) as TickCode[],
);

export const schedulerUpsertScript = script(
  'scheduler-upsert',
  ({ k, id, definitionJson, now }: Queue & { id: string; definitionJson: string; now: number }) => ({
    keys: [k.cronEntries, k.cronState],
    args: [id, definitionJson, now],
  }),
  (reply) => {
    const code = asNumber(reply);
    return (code === UpsertCode.Created ? 1 : code === UpsertCode.Updated ? 2 : 0) as 0 | 1 | 2;
  },
);

export const schedulerRemoveScript = script(
  'scheduler-remove',
  ({ k, id }: Queue & { id: string }) => ({ keys: [k.cronEntries, k.cronState], args: [id] }),
  (reply) => asNumber(reply) === 1,
);

interface Workflow {
  w: WorkflowKeys;
}

export const workflowCreateScript = script(
  'workflow-create',
  ({ w, record, now }: Workflow & { record: WorkflowRecord; now: number }) => {
    // Node infos and first-task templates, 64 to a field, a line each (workflow-node.lua, workflow-initial.lua).
    const infos: string[] = [];
    const initial: string[] = [];
    for (let i = 0; i < record.nodes.length; i += NODES_PER_FIELD) {
      const slice = record.nodes.slice(i, i + NODES_PER_FIELD);
      infos.push(slice.map((n) => n.info).join('\n'));
      const firsts = slice.map((n) => (n.waitingFor === 0 ? n.template : ''));
      initial.push(firsts.some((t) => t !== '') ? firsts.join('\n') : '');
    }
    const args: ScriptArg[] = [now, record.retentionMs, record.resultExpr, record.onFailure, record.nodes.length];
    args.push(infos.length, ...infos, initial.length, ...initial);
    // Only the tasks that wait for inputs get fields of their own (a chord of 10,000: one).
    const waiting = args.length;
    args.push(0);
    record.nodes.forEach((node, i) => {
      if (node.waitingFor > 0) args.push(i, node.template, node.waitingFor);
    });
    args[waiting] = (args.length - waiting - 1) / 3;
    return { keys: w.all(), args };
  },
  (reply) => asNumber(reply) === 1,
);

export const workflowAdvanceScript = script(
  'workflow-advance',
  ({
    w,
    finished,
    now,
    channel,
    wholeOutbox,
  }: Workflow & { finished: readonly FinishedTask[]; now: number; channel: string; wholeOutbox: boolean }) => {
    const args: ScriptArg[] = [now, channel, w.id, wholeOutbox ? 1 : 0, finished.length];
    for (const f of finished) args.push(f.index, f.state, f.data);
    return { keys: w.all(), args };
  },
  (reply) => {
    const [state, ...outbox] = asStrings(reply);
    return { state, outbox };
  },
);

/** Reads the two strings of includes/workflow-results.lua: indices joined by ',', results joined by '\n'. */
function unpackResults(indices: string, values: string, each: (index: string, value: string) => unknown): void {
  const ks = indices.split(',');
  const vs = values.split('\n');
  for (let j = 0; j < ks.length; j++) each(ks[j], vs[j] ?? '');
}

export const workflowClaimScript = script(
  'workflow-claim',
  ({ w, indices }: Workflow & { indices: readonly string[] }) => ({
    keys: w.all(),
    args: [indices.length, ...indices],
  }),
  (reply) => {
    const r = (reply as (string | number)[]).map(String);
    const nodes: ClaimedNode[] = [];
    let i = 3;
    while (i < r.length) {
      const node: ClaimedNode = { index: r[i], template: r[i + 1], info: r[i + 2], results: new Map() };
      const count = Number(r[i + 3]);
      i += 4;
      if (count > 0) {
        unpackResults(r[i], r[i + 1], (k, v) => node.results.set(Number(k), v));
        i += 2;
      }
      nodes.push(node);
    }
    return { state: r[0], failure: r[1], retentionMs: Number(r[2]), nodes };
  },
);

export const workflowDispatchedScript = script(
  'workflow-dispatched',
  ({ w, indices }: Workflow & { indices: readonly string[] }) => ({
    keys: w.all(),
    args: [indices.length, ...indices],
  }),
  asNumber,
);

export const workflowCancelScript = script(
  'workflow-cancel',
  ({ w, now, channel }: Workflow & { now: number; channel: string }) => ({ keys: w.all(), args: [now, channel, w.id] }),
  (reply) => {
    const [state, ...rest] = asStrings(reply);
    const unfinished: { index: string; info: string }[] = [];
    for (let i = 0; i + 1 < rest.length; i += 2) unfinished.push({ index: rest[i], info: rest[i + 1] });
    return { state, unfinished };
  },
);

export const workflowOutcomeScript = script(
  'workflow-outcome',
  ({ w }: Workflow) => ({ keys: w.all(), args: [] }),
  (reply): StoredWorkflowOutcome | undefined => {
    const [state, resultExpr, failure, failedNode, ...rest] = asStrings(reply);
    if (state === 'missing') return undefined;
    const results: Record<string, string> = {};
    if (rest.length === 2) unpackResults(rest[0], rest[1], (k, v) => v !== '' && (results[k] = v));
    return { state, resultExpr, failure, failedNode, results };
  },
);

export const checkpointScript = script(
  'checkpoint',
  ({ k, id, leaseScore, message }: Queue & { id: string; leaseScore: string; message: string }) => ({
    keys: [k.tasks, k.lease],
    args: [id, leaseScore, message],
  }),
  (reply) => asNumber(reply) === 1,
);
