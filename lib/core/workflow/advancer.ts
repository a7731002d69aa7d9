import type { FinishedTask, WorkflowOps } from '../broker/broker.js';
import type { Clock } from '../clock.js';
import { toError } from '../errors.js';
import type { WorkflowDispatcher } from './dispatcher.js';
import { parseRelay } from './relay.js';

/** How long a workflow may go without an advance before the recovery round looks at it. */
export const WORKFLOW_RECHECK_MS = 10_000;

/** What the advancer needs. */
export interface AdvancerParams {
  workflow: Pick<WorkflowOps, 'advance' | 'markDue' | 'clearDue' | 'removeRelays'>;
  dispatcher: WorkflowDispatcher;
  clock: Clock;
}

/**
 * Moves workflows on after their tasks finished: applies relay entries (relay.ts) to their workflows, dispatches the
 * tasks that became ready, then drops the entries. Every step is repeatable, and the workflow is marked due for the
 * recovery round before it is advanced, so a worker that dies anywhere in between leaves work that another finishes:
 * - died before the advance: the relay entry is still in the queue; the recovery round applies it;
 * - died after the advance, before the dispatch: the outbox keeps the ready tasks; the due mark brings the recovery
 *   round to it;
 * - died after the dispatch, before the entry was dropped: applying it again changes nothing.
 */
export class WorkflowAdvancer {
  constructor(private readonly p: AdvancerParams) {}

  /** Applies relay entries of `queue` (as the finalize scripts wrote them) and drops them once applied. */
  async apply(queue: string, entries: readonly string[]): Promise<void> {
    const byWorkflow = new Map<string, { finished: FinishedTask[]; entries: string[] }>();
    const malformed: string[] = [];
    for (const entry of entries) {
      const parsed = parseRelay(entry);
      if (!parsed) {
        malformed.push(entry);
        continue;
      }
      let group = byWorkflow.get(parsed.workflowId);
      if (!group) byWorkflow.set(parsed.workflowId, (group = { finished: [], entries: [] }));
      group.finished.push(parsed.finished);
      group.entries.push(entry);
    }
    const applied: string[] = [...malformed];
    const errors: unknown[] = [];
    await Promise.all(
      [...byWorkflow].map(async ([id, group]) => {
        try {
          await this.advance(id, group.finished);
          applied.push(...group.entries);
        } catch (err) {
          errors.push(err);
        }
      }),
    );
    await this.p.workflow.removeRelays(queue, applied);
    if (errors.length > 0) throw toError(errors[0]);
  }

  /** Advances workflow `id` with `finished` (none: only dispatch what its outbox holds). */
  async advance(id: string, finished: FinishedTask[]): Promise<void> {
    const now = this.p.clock.now();
    // Sent together on one connection: the due mark lands before the advance does.
    // The due mark must land before the advance (on a cluster they go to different nodes, so wait for it).
    await this.p.workflow.markDue([id], now + WORKFLOW_RECHECK_MS);
    const { state, outbox } = await this.p.workflow.advance(id, finished, now);
    if (outbox.length > 0 && state !== 'missing') await this.p.dispatcher.dispatch(id, outbox);
    if (state !== 'running') await this.p.workflow.clearDue(id);
  }
}
