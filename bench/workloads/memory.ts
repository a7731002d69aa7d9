/**
 * Workload 7: Redis memory per pending task with a small payload: used_memory after enqueueing N tasks (batches,
 * no worker) minus used_memory before, divided by N, on an otherwise empty server.
 */
import { SMALL_PAYLOAD } from '../adapters/types.js';
import { round } from '../redis.js';
import type { WorkloadContext } from './context.js';

export interface MemoryParams {
  tasks: number;
  batch: number;
}

export interface MemoryResult {
  tasks: number;
  bytesPerTask: number;
  usedMemoryBefore: number;
  usedMemoryAfter: number;
  keys: number;
  payload: unknown;
}

export async function memoryPerTask(ctx: WorkloadContext, p: MemoryParams): Promise<MemoryResult> {
  await ctx.probe.flushAll();
  const producer = await ctx.adapter.producer(ctx.queue('mem'));
  const before = await ctx.probe.usedMemory();
  for (let i = 0; i < p.tasks; i += p.batch) {
    const size = Math.min(p.batch, p.tasks - i);
    await producer.enqueueBulk(Array.from({ length: size }, () => ({ ...SMALL_PAYLOAD })));
  }
  await new Promise((r) => setTimeout(r, 300)); // let the server release the last batch's query buffer
  const after = await ctx.probe.usedMemory();
  const keys = await ctx.probe.redis.dbsize();
  await producer.close();
  await ctx.probe.flushAll();
  return {
    tasks: p.tasks,
    bytesPerTask: round((after - before) / p.tasks, 1),
    usedMemoryBefore: before,
    usedMemoryAfter: after,
    keys,
    payload: SMALL_PAYLOAD,
  };
}
