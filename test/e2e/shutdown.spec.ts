import { Controller } from '@nestjs/common';
import { Ctx } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ShutdownError, TaskClient } from '../../lib/core/index.js';
import { TaskHandler, TaskqContext, TaskqServer } from '../../lib/nest/index.js';
import { cleanupPrefix, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { deferred } from '../helpers/wait.js';

const started = deferred<string>();
const aborted = deferred<unknown>();

@Controller()
class StuckTasks {
  @TaskHandler('stuck')
  async stuck(@Ctx() ctx: TaskqContext) {
    started.resolve(ctx.getTaskId());
    const signal = ctx.getSignal();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    aborted.resolve(signal.reason);
    throw signal.reason;
  }
}

describe('close() with a task that outlives shutdownTimeout', () => {
  const prefix = uniquePrefix('shutdown');
  afterAll(async () => {
    const redis = testRedis();
    await cleanupPrefix(redis, prefix);
    redis.disconnect();
  });

  it('aborts its signal with ShutdownError and gives the task back to its queue', async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [StuckTasks] }).compile();
    const server = new TaskqServer({ connection: testRedisUrl(), prefix, shutdownTimeout: 200 });
    const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await app.listen();
    const producer = new TaskClient({ connection: testRedisUrl(), prefix });
    try {
      const info = await producer.enqueue('stuck', {});
      expect(await started.promise).toBe(info.id);
      await app.close();
      expect(await aborted.promise).toBeInstanceOf(ShutdownError);
      expect(await producer.getTask(info.id)).toMatchObject({ state: 'pending', retried: 0 });
      await server.close(); // idempotent
    } finally {
      await producer.close();
    }
  });
});
