/** nestjs-taskq's core: TaskClient (enqueue / enqueueMany) and TaskWorker, default options except concurrency. */
import type { Redis } from 'ioredis';
import { QueueKeys } from '../../lib/core/broker/redis/keys.js';
import { TaskClient, TaskWorker } from '../../lib/core/index.js';
import type { ServerProbe } from '../redis.js';
import { sleep } from '../stats.js';
import { TASK_TYPE, type Adapter, type Consumer, type Producer, type WorkerSpec } from './types.js';

export const TASKQ_PREFIX = 'taskq';

export function taskqProducer(url: string, queue: string): Producer {
  const client = new TaskClient({ connection: url, prefix: TASKQ_PREFIX });
  return {
    enqueueOne: (payload, delayMs) =>
      client.enqueue(TASK_TYPE, payload, delayMs ? { queue, processIn: delayMs } : { queue }),
    enqueueBulk: (payloads) =>
      client.enqueueMany(payloads.map((payload) => ({ type: TASK_TYPE, payload, options: { queue } }))),
    close: () => client.close(),
  };
}

/** Tasks of `queue` still stored: the task hash, pending, active, scheduled and retry. */
export async function taskqLeftover(queue: string, redis: Redis): Promise<number> {
  const k = new QueueKeys(TASKQ_PREFIX, queue);
  const [t, p, a, s, r] = await Promise.all([
    redis.hlen(k.tasks),
    redis.llen(k.pending),
    redis.scard(k.active),
    redis.zcard(k.scheduled),
    redis.zcard(k.retry),
  ]);
  return Math.max(t, p + a + s + r);
}

/** Waits until the active set and the task hash of `queue` are gone (every acknowledgement written). */
export async function taskqSettle(queue: string, probe: ServerProbe): Promise<void> {
  const k = new QueueKeys(TASKQ_PREFIX, queue);
  const deadline = Date.now() + 30_000;
  while ((await probe.exists(k.active, k.tasks)) > 0) {
    if (Date.now() > deadline) throw new Error(`taskq: acknowledgements of ${queue} not written after 30 s`);
    await sleep(1);
  }
}

export function taskqAdapter(url: string): Adapter {
  return {
    name: 'taskq',
    producer: async (queue) => taskqProducer(url, queue),

    async worker(queue: string, spec: WorkerSpec): Promise<Consumer> {
      const worker = new TaskWorker({
        connection: url,
        prefix: TASKQ_PREFIX,
        concurrency: spec.concurrency,
        queues: [queue],
      });
      worker.handle(TASK_TYPE, (task) => spec.handler(task.payload));
      worker.on('error', (err) => console.error('[bench taskq worker]', err));
      if (spec.onCompleted) {
        const cb = spec.onCompleted;
        worker.on('completed', () => cb());
      }
      await worker.redis.ping(); // connect before the timed part, as BullMQ's waitUntilReady does
      return { start: () => worker.start(), close: () => worker.shutdown() };
    },

    leftover: taskqLeftover,
    settle: taskqSettle,
  };
}
