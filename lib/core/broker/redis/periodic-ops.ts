import type { PeriodicOps, PreparedTicks, TickFire } from '../broker.js';
import type { TickCode } from '../script-codes.js';
import type { RedisContext } from './context.js';
import { schedulerRemoveScript, schedulerTickScript, schedulerUpsertScript } from './script-table.js';

/**
 * Ticks of one queue in scheduler-tick.lua's wire form: a single argument for the whole chunk (the per-argument cost
 * dominates both ioredis's encoding and Lua's unpacking), two lines per fire:
 * `<entry id> <rev> <fire ms> <task id> <processAt ms>\n<task message>\n`. Entry ids have no whitespace and JSON has
 * no raw newline, so the separators are unambiguous.
 */
interface EncodedTicks extends PreparedTicks {
  readonly blob: string;
}

/** Encodes ticks for scheduler-tick.lua (see {@link EncodedTicks}). */
export function encodeTicks(queue: string, fires: readonly TickFire[]): EncodedTicks {
  let blob = '';
  for (const f of fires) blob += `${f.entryId} ${f.rev} ${f.fireMs} ${f.taskId} ${f.processAtMs}\n${f.message}\n`;
  return { queue, count: fires.length, blob };
}

/** Periodic-entry operations on Redis (TaskScheduler): entries and fire states live in the queue's slot. */
export class RedisPeriodicOps implements PeriodicOps {
  constructor(private readonly ctx: RedisContext) {}

  cronQueues(): Promise<string[]> {
    return this.ctx.client.smembers(this.ctx.global.cronQueues);
  }

  /** Plain SADDs, outside any script (global keys never enter a multi-key script). */
  async registerCronQueue(queue: string): Promise<void> {
    await this.ctx.client.sadd(this.ctx.global.cronQueues, queue);
    await this.ctx.client.sadd(this.ctx.global.queues, queue);
  }

  async hasCronEntry(queue: string, id: string): Promise<boolean> {
    return (await this.ctx.client.hexists(this.ctx.keys(queue).cronEntries, id)) === 1;
  }

  upsertCronEntry(queue: string, id: string, definitionJson: string, now: number): Promise<0 | 1 | 2> {
    return this.ctx.scripts.run(schedulerUpsertScript, { k: this.ctx.keys(queue), id, definitionJson, now });
  }

  removeCronEntry(queue: string, id: string): Promise<boolean> {
    return this.ctx.scripts.run(schedulerRemoveScript, { k: this.ctx.keys(queue), id });
  }

  async cronEntries(queue: string): Promise<{ definitions: Record<string, string>; states: Record<string, string> }> {
    const k = this.ctx.keys(queue);
    const [definitions, states] = await Promise.all([
      this.ctx.client.hgetall(k.cronEntries),
      this.ctx.client.hgetall(k.cronState),
    ]);
    return { definitions, states };
  }

  prepareTicks(queue: string, fires: TickFire[]): PreparedTicks {
    return encodeTicks(queue, fires);
  }

  fireTicks(prepared: PreparedTicks): Promise<TickCode[]> {
    const { queue, count, blob } = prepared as EncodedTicks;
    return this.ctx.scripts.run(schedulerTickScript, { k: this.ctx.keys(queue), count, blob });
  }

  async announceCronChange(): Promise<void> {
    await this.ctx.client.publish(this.ctx.global.cronChanged, '1');
  }

  async serverTime(): Promise<number> {
    const [sec, usec] = (await this.ctx.client.time()) as [string | number, string | number];
    return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  }
}
