import type {
  ClaimedNode,
  FinishedTask,
  StoredWorkflow,
  StoredWorkflowOutcome,
  WorkflowOps,
  WorkflowRecord,
} from '../broker.js';
import type { MemoryContext } from './context.js';
import { expressionLeaves, WorkflowState } from './workflow-state.js';

type Claim = { state: string; failure: string; retentionMs: number; nodes: ClaimedNode[] };

/**
 * Workflow operations in memory, each one atomic and step by step as its Lua script (workflow-create, -advance,
 * -claim, -dispatched, -cancel, -outcome); the index, the due set and the relays are plain structures of the space
 * and of each queue, as their Redis keys are plain commands.
 */
export class MemoryWorkflowOps implements WorkflowOps {
  constructor(private readonly ctx: MemoryContext) {}

  create(record: WorkflowRecord, now: number): Promise<boolean> {
    return this.ctx.run(() => {
      if (this.live(record.id)) return false;
      const w = new WorkflowState(
        record.nodes.length,
        now,
        record.retentionMs,
        record.resultExpr,
        record.onFailure,
        record.nodes.map((n) => n.info),
      );
      record.nodes.forEach((node, i) => {
        const k = String(i);
        w.templates.set(k, node.template);
        if (node.waitingFor > 0) w.waiting.set(k, node.waitingFor);
        else w.outbox.add(k, now);
      });
      this.ctx.space.workflows.set(record.id, w);
      return true;
    });
  }

  advance(
    id: string,
    finished: FinishedTask[],
    now: number,
    wholeOutbox: boolean,
  ): Promise<{ state: string; outbox: string[] }> {
    return this.ctx.run(() => {
      const w = this.live(id);
      if (!w) return { state: 'missing', outbox: [] };
      let fresh = 0;
      let failure: string | undefined;
      const decrements = new Map<string, number>();
      for (const f of finished) {
        // Recorded once: a relay applied twice changes nothing the second time.
        if (w.results.has(f.index)) continue;
        w.results.set(f.index, f.state + f.data);
        fresh++;
        if (w.state !== 'running' || failure !== undefined) continue;
        if (f.state === 'c') {
          for (const d of w.dependents(f.index)) decrements.set(d, (decrements.get(d) ?? 0) + 1);
        } else {
          failure = JSON.stringify({ k: Number(f.index), s: f.state, e: f.data });
        }
      }
      if (fresh === 0 && !wholeOutbox) return { state: w.state, outbox: [] };
      w.left -= fresh;
      const ready: string[] = [];
      if (failure !== undefined) {
        // The first task that did not complete fails the workflow: nothing not yet dispatched ever is.
        w.failure = failure;
        w.outbox.clear();
        w.waiting.clear();
        if (w.onFailure !== '') {
          w.outbox.add('F', now);
          ready.push('F');
        }
        this.finish(id, w, 'failed', now);
      } else if (w.state === 'running') {
        for (const [d, by] of decrements) {
          const left = (w.waiting.get(d) ?? 0) - by;
          if (left > 0) {
            w.waiting.set(d, left);
            continue;
          }
          w.waiting.delete(d);
          w.outbox.add(d, now);
          ready.push(d);
        }
        if (fresh > 0 && w.left <= 0) this.finish(id, w, 'completed', now);
      }
      return { state: w.state, outbox: wholeOutbox ? w.outbox.all().map((e) => e.member) : ready };
    });
  }

  claim(id: string, indices: string[]): Promise<Claim> {
    return this.ctx.run((): Claim => {
      const w = this.live(id);
      if (!w) return { state: 'missing', failure: '', retentionMs: 0, nodes: [] };
      const claim: Claim = { state: w.state, failure: w.failure ?? '', retentionMs: w.retentionMs, nodes: [] };
      for (const k of indices) {
        if (k !== 'F' && w.results.has(k)) {
          // Its result is recorded: it finished (its record may be gone), so it is never dispatched again.
          w.outbox.remove(k);
          continue;
        }
        if (!w.outbox.has(k)) continue;
        if (k === 'F') {
          if (w.state !== 'failed' || w.failure === undefined) continue;
          // The onFailure task: its input is the failure; the node info given is the failed task's.
          const failed = JSON.parse(w.failure) as { k: number };
          claim.nodes.push({ index: k, template: w.onFailure, info: w.nodeInfo(failed.k), results: new Map() });
        } else if (w.state === 'running') {
          const info = w.nodeInfo(k);
          const input = info.split('\t')[3] ?? '';
          const results = new Map<number, string>();
          for (const d of input === '' ? [] : expressionLeaves(JSON.parse(input))) {
            results.set(Number(d), w.results.get(d) ?? '');
          }
          claim.nodes.push({ index: k, template: w.templates.get(k) ?? '', info, results });
        }
      }
      return claim;
    });
  }

  dispatched(id: string, indices: string[]): Promise<void> {
    return this.ctx.run(() => {
      const w = this.live(id);
      if (!w) return;
      for (const k of indices) {
        w.outbox.remove(k);
        w.templates.delete(k);
        if (k === 'F') w.onFailureDispatched = true;
      }
    });
  }

  cancel(id: string, now: number): Promise<{ state: string; unfinished: { index: string; info: string }[] }> {
    return this.ctx.run(() => {
      const w = this.live(id);
      if (!w) return { state: 'missing', unfinished: [] };
      if (w.state !== 'running') return { state: `not-running:${w.state}`, unfinished: [] };
      w.outbox.clear();
      w.waiting.clear();
      const unfinished: { index: string; info: string }[] = [];
      for (let k = 0; k < w.count; k++) {
        const index = String(k);
        if (!w.templates.has(index) && !w.results.has(index)) unfinished.push({ index, info: w.nodeInfo(k) });
      }
      this.finish(id, w, 'canceled', now);
      return { state: 'canceled', unfinished };
    });
  }

  read(id: string): Promise<StoredWorkflow | undefined> {
    return this.ctx.run(() => {
      const w = this.live(id);
      if (!w) return undefined;
      const nodes: Record<string, string> = {};
      w.nodes.forEach((info, k) => (nodes[k] = info));
      const dispatched: string[] = [];
      for (let k = 0; k < w.count; k++) if (!w.templates.has(String(k))) dispatched.push(String(k));
      if (w.onFailureDispatched) dispatched.push('F');
      return { meta: w.meta(), nodes, results: Object.fromEntries(w.results), dispatched };
    });
  }

  outcome(id: string): Promise<StoredWorkflowOutcome | undefined> {
    return this.ctx.run(() => {
      const w = this.live(id);
      if (!w) return undefined;
      const results: Record<string, string> = {};
      if (w.state === 'completed' && w.resultExpr !== '') {
        for (const k of expressionLeaves(JSON.parse(w.resultExpr))) {
          const value = w.results.get(k);
          if (value !== undefined) results[k] = value;
        }
      }
      const failedNode = w.failure ? w.nodeInfo((JSON.parse(w.failure) as { k: number }).k) : '';
      return { state: w.state, resultExpr: w.resultExpr, failure: w.failure ?? '', failedNode, results };
    });
  }

  register(id: string, createdAt: number, dueAt: number): Promise<void> {
    return this.ctx.run(() => {
      const { workflowIndex, workflowsDue } = this.ctx.space;
      if (!workflowIndex.has(id)) workflowIndex.add(id, createdAt);
      workflowsDue.add(id, dueAt);
    });
  }

  markDue(ids: string[], at: number): Promise<void> {
    return this.ctx.run(() => {
      for (const id of ids) this.ctx.space.workflowsDue.add(id, at);
    });
  }

  clearDue(id: string): Promise<void> {
    return this.ctx.run(() => void this.ctx.space.workflowsDue.remove(id));
  }

  due(now: number, limit: number): Promise<string[]> {
    return this.ctx.run(() => this.ctx.space.workflowsDue.upTo(now, limit).map((e) => e.member));
  }

  relays(queue: string, olderThan: number, limit: number): Promise<string[]> {
    return this.ctx.run(() =>
      this.ctx
        .queue(queue)
        .relay.upTo(olderThan, limit)
        .map((e) => e.member),
    );
  }

  removeRelays(queue: string, entries: string[]): Promise<void> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      for (const entry of entries) q.relay.remove(entry);
    });
  }

  list(start: number, count: number): Promise<{ ids: string[]; total: number }> {
    return this.ctx.run(() => {
      const index = this.ctx.space.workflowIndex;
      return { ids: index.range(start, start + count - 1, true).map((e) => e.member), total: index.size };
    });
  }

  forget(ids: string[]): Promise<void> {
    return this.ctx.run(() => {
      for (const id of ids) {
        this.ctx.space.workflowIndex.remove(id);
        this.ctx.space.workflowsDue.remove(id);
      }
    });
  }

  /** The workflow, unless its retention ran out (Redis expires its keys by its own clock; here it is forgotten). */
  private live(id: string): WorkflowState | undefined {
    const w = this.ctx.space.workflows.get(id);
    if (w?.expiresAt !== undefined && w.expiresAt <= this.ctx.store.clock.now()) {
      this.ctx.space.workflows.delete(id);
      return undefined;
    }
    return w;
  }

  /** workflow-finish.lua: the state, the finish time, the announcement, and the expiry of everything. */
  private finish(id: string, w: WorkflowState, state: string, now: number): void {
    w.state = state;
    w.finishedAt = now;
    w.expiresAt = this.ctx.store.clock.now() + w.retentionMs;
    this.ctx.space.publish('workflowDone', id, state);
  }
}
