import { formatState, parseState } from '../../periodic/entry.js';
import type { PeriodicOps, PreparedTicks, TickFire } from '../broker.js';
import { TickCode, UpsertCode } from '../script-codes.js';
import type { MemoryContext } from './context.js';

/** Ticks of one queue, kept as they are (nothing to encode for a store in the same process). */
interface HeldTicks extends PreparedTicks {
  readonly fires: readonly TickFire[];
}

/**
 * Periodic-entry operations in memory (TaskScheduler): entries and fire states per queue, with the compare-and-set
 * tick of scheduler-tick.lua and the floors of scheduler-upsert.lua, so of all the schedulers on a store exactly one
 * fires each tick.
 */
export class MemoryPeriodicOps implements PeriodicOps {
  constructor(private readonly ctx: MemoryContext) {}

  cronQueues(): Promise<string[]> {
    return this.ctx.run(() => [...this.ctx.space.cronQueues]);
  }

  registerCronQueue(queue: string): Promise<void> {
    return this.ctx.run(() => {
      this.ctx.space.cronQueues.add(queue);
      this.ctx.space.registry.add(queue);
    });
  }

  hasCronEntry(queue: string, id: string): Promise<boolean> {
    return this.ctx.run(() => this.ctx.space.queues.get(queue)?.cron.has(id) ?? false);
  }

  /** A new entry fires strictly after now; a changed spec or tz raises the floor to now (no tick from before). */
  upsertCronEntry(queue: string, id: string, definitionJson: string, now: number): Promise<0 | 1 | 2> {
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      const old = q.cron.get(id);
      let state = parseState(q.cronState.get(id));
      if (old === definitionJson && state) return UpsertCode.Unchanged;
      let code: 0 | 1 | 2 = UpsertCode.Updated;
      if (old === undefined || !state) {
        code = UpsertCode.Created;
        state = { rev: 0, floor: now, prevFire: 0, lastTaskId: '' };
      } else if (scheduleChanged(old, definitionJson) && state.floor < now) {
        state.floor = now;
      }
      q.cron.set(id, definitionJson);
      q.cronState.set(id, formatState({ ...state, rev: state.rev + 1 }));
      return code;
    });
  }

  removeCronEntry(queue: string, id: string): Promise<boolean> {
    return this.ctx.run(() => {
      const q = this.ctx.space.queues.get(queue);
      if (!q) return false;
      q.cronState.delete(id);
      return q.cron.delete(id);
    });
  }

  cronEntries(queue: string): Promise<{ definitions: Record<string, string>; states: Record<string, string> }> {
    return this.ctx.run(() => {
      const q = this.ctx.space.queues.get(queue);
      return { definitions: Object.fromEntries(q?.cron ?? []), states: Object.fromEntries(q?.cronState ?? []) };
    });
  }

  prepareTicks(queue: string, fires: TickFire[]): PreparedTicks {
    const held: HeldTicks = { queue, count: fires.length, fires };
    return held;
  }

  /** Per fire: stale (entry gone or revised), already fired (the floor), or fired: state moved and task stored. */
  fireTicks(prepared: PreparedTicks): Promise<TickCode[]> {
    const { queue, fires } = prepared as HeldTicks;
    return this.ctx.run(() => {
      const q = this.ctx.queue(queue);
      const states = new Map(fires.map((f) => [f.entryId, parseState(q.cronState.get(f.entryId))]));
      const codes: TickCode[] = [];
      const pending: string[] = [];
      let minDue: number | undefined;
      for (const f of fires) {
        const st = states.get(f.entryId);
        if (!st || String(st.rev) !== f.rev) {
          codes.push(TickCode.Stale);
        } else if (st.floor >= f.fireMs) {
          codes.push(st.floor);
        } else {
          codes.push(TickCode.Fired);
          st.floor = f.fireMs;
          st.prevFire = f.fireMs;
          st.lastTaskId = f.taskId;
          q.cronState.set(f.entryId, formatState(st));
          q.tasks.set(f.taskId, f.message);
          if (f.processAtMs > 0) {
            q.scheduled.add(f.taskId, f.processAtMs);
            minDue = Math.min(minDue ?? f.processAtMs, f.processAtMs);
          } else {
            pending.push(f.taskId);
          }
          const state = f.processAtMs > 0 ? 'scheduled' : 'pending';
          this.ctx.store.recorder?.stored(this.ctx.prefix, queue, f.taskId, f.message, state);
        }
      }
      if (pending.length > 0) {
        const wasEmpty = q.pending.size === 0;
        q.pending.pushTail(pending);
        if (wasEmpty) q.wakePending();
      }
      if (minDue !== undefined) q.wakeIfEarliest(q.scheduled, minDue);
      return codes;
    });
  }

  announceCronChange(): Promise<void> {
    return this.ctx.run(() => this.ctx.space.publish('cron'));
  }

  /** The store's clock: what TIME is to Redis. */
  serverTime(): Promise<number> {
    return this.ctx.run(() => this.ctx.store.clock.now());
  }
}

/** True when the spec or tz differs (or the old definition cannot be read), as scheduler-upsert.lua compares them. */
function scheduleChanged(oldJson: string, newJson: string): boolean {
  try {
    const o = JSON.parse(oldJson) as { spec?: unknown; tz?: unknown } | null;
    const n = JSON.parse(newJson) as { spec?: unknown; tz?: unknown };
    return typeof o !== 'object' || o === null || o.spec !== n.spec || o.tz !== n.tz;
  } catch {
    return true;
  }
}
