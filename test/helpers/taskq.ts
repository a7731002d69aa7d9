import { afterEach } from 'vitest';
import {
  TaskClient,
  TaskWorker,
  type TaskqOptions,
  type WorkerOptions,
  type WorkerInternals,
} from '../../lib/core/index.js';
import { cleanupPrefix, testRedis, testRedisUrl, uniquePrefix } from './redis.js';

/**
 * Per-test fixture: a unique prefix, clients and workers that are closed (and keys deleted) after each test.
 */
export function useTaskq(label = 't') {
  const closers: (() => Promise<void>)[] = [];
  const state = { prefix: uniquePrefix(label) };
  const admin = testRedis();

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await cleanupPrefix(admin, state.prefix);
    state.prefix = uniquePrefix(label);
  });

  return {
    admin,
    get prefix() {
      return state.prefix;
    },
    client(options: TaskqOptions = {}): TaskClient {
      const client = new TaskClient({ connection: testRedisUrl(), prefix: state.prefix, ...options });
      closers.push(() => client.close());
      return client;
    },
    worker(options: TaskqOptions & WorkerOptions & WorkerInternals = {}): TaskWorker {
      const worker = new TaskWorker({ connection: testRedisUrl(), prefix: state.prefix, ...options });
      closers.push(() => worker.shutdown());
      return worker;
    },
    key(queue: string, suffix: string): string {
      return `${state.prefix}:{${queue}}:${suffix}`;
    },
  };
}
