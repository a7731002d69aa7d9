import type {
  ClaimedNode,
  FinishedTask,
  StoredWorkflow,
  StoredWorkflowOutcome,
  WorkflowOps,
  WorkflowRecord,
} from '../broker.js';
import type { RedisContext } from './context.js';
import { NODES_PER_FIELD, WorkflowKeys } from './keys.js';
import { namedPipeline, valueOf } from './pipeline.js';
import {
  workflowAdvanceScript,
  workflowCancelScript,
  workflowOutcomeScript,
  workflowClaimScript,
  workflowCreateScript,
  workflowDispatchedScript,
} from './script-table.js';

/** HSCAN pages one look at a queue's relays reads at most, and the page size asked for. */
const RELAY_SCAN_PAGES = 10;
const RELAY_SCAN_COUNT = 200;

/**
 * Workflow operations on Redis: each workflow's state under its own hash tag (one slot per script call), the global
 * index and due set through plain commands, and the per-queue relay of finished tasks.
 */
export class RedisWorkflowOps implements WorkflowOps {
  private readonly keysById = new Map<string, WorkflowKeys>();

  constructor(private readonly ctx: RedisContext) {}

  private keys(id: string): WorkflowKeys {
    let keys = this.keysById.get(id);
    if (!keys) {
      // Workflows come and go: keep the cache from growing without bound.
      if (this.keysById.size >= 10_000) this.keysById.clear();
      keys = new WorkflowKeys(this.ctx.prefix, id);
      this.keysById.set(id, keys);
    }
    return keys;
  }

  create(record: WorkflowRecord, now: number): Promise<boolean> {
    return this.ctx.scripts.run(workflowCreateScript, { w: this.keys(record.id), record, now });
  }

  advance(
    id: string,
    finished: FinishedTask[],
    now: number,
    wholeOutbox: boolean,
  ): Promise<{ state: string; outbox: string[] }> {
    return this.ctx.scripts.run(workflowAdvanceScript, {
      w: this.keys(id),
      finished,
      now,
      wholeOutbox,
      channel: this.ctx.global.workflowDone,
    });
  }

  claim(
    id: string,
    indices: string[],
  ): Promise<{ state: string; failure: string; retentionMs: number; nodes: ClaimedNode[] }> {
    return this.ctx.scripts.run(workflowClaimScript, { w: this.keys(id), indices });
  }

  async dispatched(id: string, indices: string[]): Promise<void> {
    if (indices.length > 0) await this.ctx.scripts.run(workflowDispatchedScript, { w: this.keys(id), indices });
  }

  cancel(id: string, now: number): Promise<{ state: string; unfinished: { index: string; info: string }[] }> {
    return this.ctx.scripts.run(workflowCancelScript, { w: this.keys(id), now, channel: this.ctx.global.workflowDone });
  }

  async read(id: string): Promise<StoredWorkflow | undefined> {
    const w = this.keys(id);
    const r = await namedPipeline(this.ctx.client, {
      meta: (p) => p.hgetall(w.meta),
      nodes: (p) => p.hgetall(w.nodes),
      results: (p) => p.hgetall(w.results),
      templates: (p) => p.hkeys(w.templates),
      onFailure: (p) => p.sismember(w.dispatched, 'F'),
    });
    const meta = valueOf(r.meta) as Record<string, string>;
    if (!meta || Object.keys(meta).length === 0) return undefined;
    // A task whose template is gone was dispatched (workflow-dispatched.lua drops it); first tasks keep theirs in
    // `i<n>` fields until their dispatch is done (workflow-initial.lua).
    const waiting = new Set(valueOf(r.templates) as string[]);
    const initialFields = Number(meta.init ?? 0);
    if (initialFields > 0) {
      const names = Array.from({ length: initialFields }, (_, i) => `i${i}`);
      const chunks = await this.ctx.client.hmget(w.templates, ...names);
      chunks.forEach((chunk, field) =>
        chunk?.split('\n').forEach((t, i) => {
          if (t !== '') waiting.add(String(field * NODES_PER_FIELD + i));
        }),
      );
    }
    const dispatched: string[] = [];
    for (let k = 0; k < Number(meta.n ?? 0); k++) if (!waiting.has(String(k))) dispatched.push(String(k));
    if (Number(valueOf(r.onFailure)) === 1) dispatched.push('F');
    const nodes: Record<string, string> = {};
    for (const [field, chunk] of Object.entries(valueOf(r.nodes) as Record<string, string>)) {
      chunk.split('\n').forEach((info, i) => (nodes[Number(field) * NODES_PER_FIELD + i] = info));
    }
    return {
      meta,
      nodes,
      results: valueOf(r.results) as Record<string, string>,
      dispatched,
    };
  }

  outcome(id: string): Promise<StoredWorkflowOutcome | undefined> {
    return this.ctx.scripts.run(workflowOutcomeScript, { w: this.keys(id) });
  }

  async register(id: string, createdAt: number, dueAt: number): Promise<void> {
    // Global keys hash to their own slots: plain commands, never one pipeline (a cluster refuses cross-slot ones).
    const g = this.ctx.global;
    await Promise.all([
      this.ctx.client.zadd(g.workflows, 'NX', createdAt, id),
      this.ctx.client.zadd(g.workflowsDue, dueAt, id),
    ]);
  }

  async markDue(ids: string[], at: number): Promise<void> {
    if (ids.length === 0) return;
    const args: (string | number)[] = [];
    for (const id of ids) args.push(at, id);
    await this.ctx.client.zadd(this.ctx.global.workflowsDue, ...args);
  }

  async clearDue(id: string): Promise<void> {
    await this.ctx.client.zrem(this.ctx.global.workflowsDue, id);
  }

  due(now: number, limit: number): Promise<string[]> {
    return this.ctx.client.zrangebyscore(
      this.ctx.global.workflowsDue,
      '-inf',
      String(now),
      'LIMIT',
      '0',
      String(limit),
    );
  }

  /**
   * Scans the relay hash (normally a handful of entries: each is removed as soon as it is applied), a bounded number
   * of HSCAN pages per call, for entries finished before `olderThan`.
   */
  async relays(queue: string, olderThan: number, limit: number): Promise<string[]> {
    const key = this.ctx.keys(queue).workflowRelay;
    const found: string[] = [];
    let cursor = '0';
    for (let page = 0; page < RELAY_SCAN_PAGES; page++) {
      const [next, flat] = await this.ctx.client.hscan(key, cursor, 'COUNT', RELAY_SCAN_COUNT);
      for (let i = 0; i + 1 < flat.length && found.length < limit; i += 2) {
        if (Number(flat[i + 1]) <= olderThan) found.push(flat[i]);
      }
      cursor = next;
      if (cursor === '0' || found.length >= limit) break;
    }
    return found;
  }

  async removeRelays(queue: string, entries: string[]): Promise<void> {
    if (entries.length > 0) await this.ctx.client.hdel(this.ctx.keys(queue).workflowRelay, ...entries);
  }

  async list(start: number, count: number): Promise<{ ids: string[]; total: number }> {
    const key = this.ctx.global.workflows;
    const [ids, total] = await Promise.all([
      this.ctx.client.zrange(key, String(start), String(start + count - 1), 'REV'),
      this.ctx.client.zcard(key),
    ]);
    return { ids, total };
  }

  async forget(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const g = this.ctx.global;
    await Promise.all([this.ctx.client.zrem(g.workflows, ...ids), this.ctx.client.zrem(g.workflowsDue, ...ids)]);
  }
}
