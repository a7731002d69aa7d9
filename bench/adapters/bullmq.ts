/**
 * BullMQ 6 under the settings perf.md §5 calls fair: removeOnComplete (our default retention 0 also deletes on
 * success), the same payloads and concurrency, default worker options otherwise (stall detection and lock renewal on,
 * drainDelay 5 s), no auto-pipelining.
 */
import { Queue, Worker } from 'bullmq';
import { TASK_TYPE, type Adapter, type Consumer, type Producer, type WorkerSpec } from './types.js';

function connectionOf(url: string): { host: string; port: number; maxRetriesPerRequest: null } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
}

export function bullmqAdapter(url: string): Adapter {
  const connection = connectionOf(url);
  return {
    name: 'bullmq',

    async producer(queue: string): Promise<Producer> {
      const q = new Queue(queue, { connection, defaultJobOptions: { removeOnComplete: true } });
      await q.waitUntilReady();
      return {
        enqueueOne: (payload, delayMs) => q.add(TASK_TYPE, payload, delayMs ? { delay: delayMs } : undefined),
        enqueueBulk: (payloads) => q.addBulk(payloads.map((data) => ({ name: TASK_TYPE, data }))),
        close: () => q.close(),
      };
    },

    async worker(queue: string, spec: WorkerSpec): Promise<Consumer> {
      const w = new Worker(queue, async (job) => spec.handler(job.data), {
        connection,
        concurrency: spec.concurrency,
        autorun: false,
      });
      w.on('error', (err) => console.error('[bench bullmq worker]', err));
      if (spec.onCompleted) {
        const cb = spec.onCompleted;
        w.on('completed', () => cb());
      }
      await w.waitUntilReady();
      return {
        start: async () => {
          w.run().catch((err: unknown) => console.error('[bench bullmq run]', err));
        },
        close: () => w.close(),
      };
    },

    async leftover(queue: string): Promise<number> {
      const q = new Queue(queue, { connection });
      try {
        const counts = await q.getJobCounts();
        return Object.values(counts).reduce((a, b) => a + b, 0);
      } finally {
        await q.close();
      }
    },
  };
}
