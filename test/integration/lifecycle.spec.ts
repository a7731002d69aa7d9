import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueKeys } from '../../lib/core/broker/redis/keys.js';
import {
  ClosedError,
  RedisUnavailableError,
  SimulatedClock,
  TaskClient,
  TaskInspector,
  TaskScheduler,
  TaskWorker,
  type BrokerStatus,
} from '../../lib/core/index.js';
import { cleanupPrefix, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/** One lifecycle for the four public classes: connect or adopt, status and error events alike, close only what is owned. */
describe('the public classes share one lifecycle', () => {
  const admin = testRedis();
  const prefix = uniquePrefix('life');
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await cleanupPrefix(admin, prefix);
  });

  const quiet = { error: () => undefined, warn: () => undefined };
  const makers = {
    TaskClient: (connection: string | Redis) => new TaskClient({ connection, prefix }),
    TaskWorker: (connection: string | Redis) => new TaskWorker({ connection, prefix }),
    TaskInspector: (connection: string | Redis) => new TaskInspector({ connection, prefix }),
    TaskScheduler: (connection: string | Redis) => new TaskScheduler({ connection, prefix, logger: quiet }),
  };

  for (const [name, make] of Object.entries(makers)) {
    it(`${name}: reports 'connected' through on('status'), and close() closes the connection it created`, async () => {
      const object = make(testRedisUrl());
      const statuses: BrokerStatus[] = [];
      (object as TaskClient).on('status', (s) => statuses.push(s));
      const redis = object.redis;
      await redis.ping();
      await waitFor(() => statuses.includes('connected'), `${name} to report connected`);
      expect(object.isReady).toBe(true);
      await close(object);
      await waitFor(() => redis.status === 'end', `${name}'s connection to end`);
    });

    it(`${name}: a connection passed in is used and never closed`, async () => {
      const own = new Redis(testRedisUrl());
      closers.push(async () => own.disconnect());
      const object = make(own);
      expect(object.redis).toBe(own);
      await close(object);
      expect(await own.ping()).toBe('PONG');
    });
  }

  it('the scheduler reports errors through on("error") as the worker does, and to its logger', async () => {
    const clock = new SimulatedClock(Date.UTC(2030, 0, 1));
    const logged: string[] = [];
    const scheduler = new TaskScheduler({
      connection: testRedisUrl(),
      prefix,
      clock,
      logger: { error: (m) => logged.push(m), warn: () => undefined },
    });
    closers.push(() => scheduler.shutdown());
    const errors: Error[] = [];
    scheduler.on('error', (err) => errors.push(err));
    await scheduler.register('@every 1s', 'x', null, { id: 'broken' });
    await admin.hset(new QueueKeys(prefix, 'default').cronEntries, 'broken', '{not json');
    await scheduler.refresh();
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/"broken".*not JSON/)]);
    expect(logged).toEqual([errors[0].message]);
  });

  it('start() on a Redis that does not answer rejects with RedisUnavailableError naming the address', async () => {
    const worker = new TaskWorker({ connection: 'redis://127.0.0.1:1', prefix, startTimeout: 300 });
    const err = await worker.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as RedisUnavailableError).code).toBe('REDIS_UNAVAILABLE');
    expect((err as Error).message).toContain('127.0.0.1:1');
    await waitFor(() => worker.redis.status === 'end', "the worker's connection to end");
  });

  it('calls after close reject with ClosedError', async () => {
    const client = new TaskClient({ connection: testRedisUrl(), prefix });
    await client.close();
    await expect(client.enqueue('x', {})).rejects.toBeInstanceOf(ClosedError);
  });
});

function close(object: TaskClient | TaskWorker | TaskInspector | TaskScheduler): Promise<void> {
  if (object instanceof TaskWorker) return object.shutdown();
  if (object instanceof TaskScheduler) return object.shutdown();
  return object.close();
}
