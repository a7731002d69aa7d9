import type { INestMicroservice, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { createMemoryStore, dropMemoryStore } from '../../lib/core/broker/memory/registry.js';
import type { Backend } from '../helpers/taskq.js';
import { TaskqClient, TaskqModule, TaskqServer, type TaskqServerOptions } from '../../lib/nest/index.js';
import { cleanupPrefix, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

/** A Nest microservice on the taskq transport, with its client, isolated under a unique prefix (or store). */
export interface Harness {
  app: INestMicroservice;
  server: TaskqServer;
  client: TaskqClient;
  prefix: string;
  /** Where it runs: the test Redis, or an in-memory store of its own. */
  connection: string;
  /** Raw access to the test Redis (undefined on the memory backend). */
  redis: Redis | undefined;
  close(): Promise<void>;
}

/** Fast retries for tests. */
export const FAST_RETRY = { retryDelay: () => 10 } satisfies TaskqServerOptions;

/** Starts a microservice with `controllers` (and `providers`) on a fresh prefix. */
export async function startHarness(
  label: string,
  controllers: Type[],
  options: {
    providers?: Type[];
    server?: TaskqServerOptions;
    configure?: (app: INestMicroservice) => void;
    backend?: Backend;
  } = {},
): Promise<Harness> {
  const prefix = uniquePrefix(label);
  const store = options.backend === 'memory' ? createMemoryStore(`${prefix}-${process.pid}`) : undefined;
  const connection = store?.url ?? testRedisUrl();
  const moduleRef = await Test.createTestingModule({
    imports: [TaskqModule.forRoot({ connection, prefix })],
    controllers,
    providers: options.providers ?? [],
  }).compile();
  const server = new TaskqServer({ connection, prefix, ...FAST_RETRY, ...options.server });
  const app = moduleRef.createNestMicroservice({ strategy: server, logger: ['error', 'warn', 'fatal'] });
  options.configure?.(app);
  await app.listen();
  const redis = store ? undefined : testRedis();
  return {
    app,
    server,
    client: app.get(TaskqClient),
    prefix,
    connection,
    redis,
    close: async () => {
      await app.close();
      if (store) dropMemoryStore(store);
      if (redis) {
        await cleanupPrefix(redis, prefix);
        redis.disconnect();
      }
    },
  };
}
