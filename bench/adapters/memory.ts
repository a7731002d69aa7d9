/**
 * nestjs-taskq's core on its in-memory backend (`memory://bench`): the same TaskClient and TaskWorker as the taskq
 * adapter, with default options except concurrency, and no Redis in between. Leftovers and settling are read from the
 * store instead of Redis keys.
 */
import { openMemoryStore } from '../../lib/core/broker/memory/registry.js';
import { TaskClient, TaskWorker } from '../../lib/core/index.js';
import { sleep } from '../stats.js';
import { TASKQ_PREFIX } from './taskq.js';
import { TASK_TYPE, type Adapter, type Consumer, type Producer, type WorkerSpec } from './types.js';

const CONNECTION = 'memory://bench';
const queueState = (queue: string) => openMemoryStore(CONNECTION).space(TASKQ_PREFIX).queues.get(queue);

function memoryProducer(queue: string): Producer {
  const client = new TaskClient({ connection: CONNECTION, prefix: TASKQ_PREFIX });
  return {
    enqueueOne: (payload, delayMs) =>
      client.enqueue(TASK_TYPE, payload, delayMs ? { queue, processIn: delayMs } : { queue }),
    enqueueBulk: (payloads) =>
      client.enqueueMany(payloads.map((payload) => ({ type: TASK_TYPE, payload, options: { queue } }))),
    close: () => client.close(),
  };
}

export function memoryAdapter(): Adapter {
  return {
    name: 'memory',
    producer: async (queue) => memoryProducer(queue),

    async worker(queue: string, spec: WorkerSpec): Promise<Consumer> {
      const worker = new TaskWorker({
        connection: CONNECTION,
        prefix: TASKQ_PREFIX,
        concurrency: spec.concurrency,
        queues: [queue],
      });
      worker.handle(TASK_TYPE, (task) => spec.handler(task.payload));
      worker.on('error', (err) => console.error('[bench memory worker]', err));
      if (spec.onCompleted) {
        const cb = spec.onCompleted;
        worker.on('completed', () => cb());
      }
      return { start: () => worker.start(), close: () => worker.shutdown() };
    },

    /** Tasks of `queue` still stored: records, pending, active, scheduled and retry. */
    async leftover(queue: string): Promise<number> {
      const q = queueState(queue);
      if (!q) return 0;
      return Math.max(q.tasks.size, q.pending.size + q.active.size + q.scheduled.size + q.retry.size);
    },

    /** Waits until every acknowledgement of `queue` is written (nothing active, no record left). */
    async settle(queue: string): Promise<void> {
      const deadline = Date.now() + 30_000;
      for (let q = queueState(queue); q && (q.active.size > 0 || q.tasks.size > 0); q = queueState(queue)) {
        if (Date.now() > deadline) throw new Error(`memory: acknowledgements of ${queue} not written after 30 s`);
        await sleep(1);
      }
    },
  };
}
