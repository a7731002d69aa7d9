/**
 * What every library under test exposes to the workloads. A workload only talks to this interface, so the same code
 * measures nestjs-taskq, its Nest transport and BullMQ with the same payloads, concurrency and phases.
 */
import type { Redis } from 'ioredis';
import type { ServerProbe } from '../redis.js';

/** The libraries (and backends) under test; `memory` is taskq's core on its in-memory backend. */
export type LibName = 'taskq' | 'nest' | 'bullmq' | 'memory';

/** The task type (BullMQ job name) every workload uses. */
export const TASK_TYPE = 'noop';

/** The small payload of the throughput, enqueue and memory workloads. */
export const SMALL_PAYLOAD = { userId: 12345, email: 'a@b.c' } as const;

export interface Producer {
  /** One enqueue call (awaited by the caller); `delayMs` schedules it (processIn / BullMQ `delay`). */
  enqueueOne(payload: unknown, delayMs?: number): Promise<unknown>;
  /** One batch call: taskq `enqueueMany`, BullMQ `addBulk`. */
  enqueueBulk(payloads: readonly unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

export interface WorkerSpec {
  concurrency: number;
  /** The handler body; receives the task's payload. */
  handler: (payload: unknown) => Promise<unknown>;
  /** Called once per task the library reports completed (after its completion was written). */
  onCompleted?: () => void;
}

export interface Consumer {
  /** Begins fetching. The worker was created, and its connections made, before (untimed). */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface Adapter {
  readonly name: LibName;
  /** A producer on queue `queue` (a fresh name per measurement). */
  producer(queue: string): Promise<Producer>;
  /** A worker on `queue`, connected but not yet fetching. */
  worker(queue: string, spec: WorkerSpec): Promise<Consumer>;
  /** How many tasks of `queue` are still stored in Redis (0 after a complete drain with delete-on-success). */
  leftover(queue: string, redis: Redis): Promise<number>;
  /**
   * Resolves once every completion the library reported for `queue` is written to Redis (a library that batches
   * acknowledgements reports 'completed' before its write). Part of the timed drain.
   */
  settle?(queue: string, probe: ServerProbe): Promise<void>;
}
