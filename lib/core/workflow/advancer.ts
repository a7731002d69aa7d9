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
 * tasks that became ready, then drops the entries. Every step is repeatable, and the entries are dropped last, so a
 * worker that dies anywhere in between leaves work that another finishes:
 * - died before the advance: the relay entry is still in the queue; the recovery round applies it;
 * - died after the advance, before the dispatch: the entry is still there too; applying it again is a no-op, and the
 *   recovery round asks for the whole outbox, which it then dispatches;
 * - died after the dispatch, before the entry was dropped: applying it again changes nothing.
 * A workflow marked due (its creation did not finish) is looked at by the recovery round the same way.
 */
export class WorkflowAdvancer {
  constructor(private readonly p: AdvancerParams) {}

  /**
   * Applies relay entries of `queue` (as the finalize scripts wrote them) and drops them once applied. `recovering`:
   * entries some worker did not finish with, so whatever their workflows hold in their outboxes is dispatched too.
   */
  async apply(queue: string, entries: readonly string[], recovering = false): Promise<void> {
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
          await this.advance(id, group.finished, recovering);
          applied.push(...group.entries);
        } catch (err) {
          errors.push(err);
        }
      }),
    );
    await this.p.workflow.removeRelays(queue, applied);
    if (errors.length > 0) throw toError(errors[0]);
  }

  /**
   * Advances workflow `id` with `finished` and dispatches what they made ready; with `wholeOutbox` (always when
   * `finished` is empty: the recovery round looking at a due workflow) every outbox entry not yet dispatched.
   */
  async advance(id: string, finished: FinishedTask[], wholeOutbox = false): Promise<void> {
    const now = this.p.clock.now();
    // Applying relay entries needs no due mark: they are dropped only after the dispatch, so a worker that dies in
    // between leaves them for the recovery round, which applies them again (a no-op) and dispatches the outbox.
    // Without entries (the recovery round looking at a due workflow), the due mark is pushed forward first.
    if (finished.length === 0) await this.p.workflow.markDue([id], now + WORKFLOW_RECHECK_MS);
    const { state, outbox } = await this.p.workflow.advance(id, finished, now, wholeOutbox || finished.length === 0);
    if (outbox.length > 0 && state !== 'missing') await this.p.dispatcher.dispatch(id, outbox);
    if (finished.length === 0 && (state !== 'running' || outbox.length === 0)) await this.p.workflow.clearDue(id);
  }
}
