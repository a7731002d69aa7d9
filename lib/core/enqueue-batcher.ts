import type { ProducerOps } from './broker/broker.js';
import type { Clock } from './clock.js';
import type { PreparedTask } from './prepare-task.js';
import type { ProducerBound } from './producer-bound.js';
import { enqueueError } from './broker/script-codes.js';
import type { TaskInfo } from './task.js';

interface PendingEnqueue {
  task: PreparedTask;
  resolve: (info: TaskInfo) => void;
  reject: (err: unknown) => void;
}

/** What the batcher needs. */
export interface EnqueueBatcherParams {
  broker: Pick<ProducerOps, 'enqueue' | 'registerQueues'>;
  clock: Clock;
  /** Bounds each script call by the enqueue timeout (one bound per coalesced batch, not per task). */
  bound: ProducerBound;
}

/**
 * Coalesces enqueues: every task submitted in the same event-loop turn goes out as one script call per queue (one
 * round trip), so 100 calls in flight cost a handful of round trips. Also remembers which queues it registered, so
 * the registry costs one command per queue per process.
 */
export class EnqueueBatcher {
  private batch = new Map<string, PendingEnqueue[]>();
  private flushScheduled = false;
  private readonly knownQueues = new Set<string>();

  constructor(private readonly params: EnqueueBatcherParams) {}

  /** Enqueues one task with the others of this turn; resolves with its TaskInfo or rejects with its typed error. */
  submit(task: PreparedTask): Promise<TaskInfo> {
    return new Promise<TaskInfo>((resolve, reject) => {
      const queue = task.info.queue;
      const list = this.batch.get(queue);
      if (list) list.push({ task, resolve, reject });
      else this.batch.set(queue, [{ task, resolve, reject }]);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // A microtask, not a macrotask: calls made in this turn (and in promise continuations of this turn) still
        // share one script call, and a lone enqueue is sent without waiting for the next loop iteration.
        queueMicrotask(() => this.flush());
      }
    });
  }

  /**
   * Enqueues tasks at once (not coalesced with others), one script call per queue and per 1000 tasks, pipelined. A
   * task that hits a unique lock or an id conflict rejects the whole call with that error after the others were
   * written.
   */
  async submitMany(tasks: PreparedTask[]): Promise<TaskInfo[]> {
    const byQueue = new Map<string, PreparedTask[]>();
    for (const p of tasks) {
      const list = byQueue.get(p.info.queue);
      if (list) list.push(p);
      else byQueue.set(p.info.queue, [p]);
    }
    const outcomes = await this.params.bound.run(async () => {
      await this.registerQueues([...byQueue.keys()]);
      const now = this.params.clock.now();
      return Promise.all(
        [...byQueue].map(async ([queue, list]) => ({
          list,
          codes: await this.params.broker.enqueue(
            queue,
            list.map((p) => p.item),
            now,
          ),
        })),
      );
    });
    for (const { list, codes } of outcomes) {
      codes.forEach((code, i) => {
        const error = enqueueError(code, list[i].info);
        if (error) throw error;
      });
    }
    return tasks.map((p) => p.info);
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = new Map();
    for (const [queue, list] of batch) void this.flushQueue(queue, list);
  }

  private async flushQueue(queue: string, list: PendingEnqueue[]): Promise<void> {
    try {
      const codes = await this.params.bound.run(async () => {
        // The producer skips an await for queues it registered already.
        if (!this.knownQueues.has(queue)) await this.registerQueues([queue]);
        return this.params.broker.enqueue(
          queue,
          list.map((p) => p.task.item),
          this.params.clock.now(),
        );
      });
      codes.forEach((code, i) => {
        const error = enqueueError(code, list[i].task.info);
        if (error) list[i].reject(error);
        else list[i].resolve(list[i].task.info);
      });
    } catch (err) {
      for (const p of list) p.reject(err);
    }
  }

  private async registerQueues(queues: string[]): Promise<void> {
    const fresh = queues.filter((q) => !this.knownQueues.has(q));
    if (fresh.length === 0) return;
    await this.params.broker.registerQueues(fresh);
    for (const q of fresh) this.knownQueues.add(q);
  }
}
