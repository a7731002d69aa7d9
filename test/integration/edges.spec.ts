import { describe, expect, it } from 'vitest';
import {
  CorruptQueueError,
  InvalidOptionError,
  SkipRetryError,
  TaskClient,
  TaskInspector,
  type EnqueueOptions,
} from '../../lib/core/index.js';
import { testRedisUrl } from '../helpers/redis.js';
import { backends, useTaskq } from '../helpers/taskq.js';
import { deferred, waitFor, waitForTaskState } from '../helpers/wait.js';

/** Edges a fault-injection run found: long timers, out-of-range options, a corrupt queue. */
describe.each(backends)('edges (%s)', (backend) => {
  const tq = useTaskq('edges', backend);

  it('a task with a 30-day timeout runs to completion (the timer does not fire at once)', async () => {
    const client = tq.client();
    const worker = tq.worker();
    const started = deferred();
    worker.handle('slow', async (task) => {
      started.resolve();
      await new Promise((r) => setTimeout(r, 200));
      return task.signal.aborted ? 'aborted' : 'done';
    });
    await worker.start();
    const info = await client.enqueue('slow', {}, { timeout: '30d', retention: '1m' });
    const done = await waitForTaskState(client, info.id, 'completed');
    expect(done.result).toBe('done');
    expect(done.lastError).toBeUndefined();
  });

  it('out-of-range durations, dates and numbers are refused naming the field, and nothing is written', async () => {
    const client = tq.client();
    const now = Date.now();
    const cases: [EnqueueOptions, string, RegExp][] = [
      [{ unique: 1e20 }, 'unique', /longest allowed is '3650d'/],
      [{ processIn: 1e20 }, 'processIn', /longest allowed/],
      [{ processIn: '3651d' }, 'processIn', /longest allowed/],
      [{ timeout: '100000d' }, 'timeout', /longest allowed/],
      [{ retention: 2 ** 60 }, 'retention', /longest allowed/],
      [{ processAt: new Date(now + 11 * 365 * 86_400_000) }, 'processAt', /at most 10 years/],
      [{ deadline: new Date(8.64e15) }, 'deadline', /at most 10 years/],
      [{ maxRetry: 1e20 }, 'maxRetry', /at most 1000000/],
    ];
    for (const [options, field, message] of cases) {
      const err = await client.enqueue('x', {}, options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, field).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).field).toBe(field);
      expect((err as Error).message).toMatch(message);
    }
    expect(await tq.probe.isEmpty()).toBe(true);
  });
});

/** Lua's limits, and keys overwritten by hand with the wrong Redis type. */
describe('edges on Redis: script batches, corrupt queues', () => {
  const tq = useTaskq('edges-redis');

  it('a worker of concurrency 10,000 claims, finishes, retries and archives 10,000 tasks held at once', async () => {
    // Every task is held until all 10,000 run, so the claims, and then the completions, retries and archives of one
    // turn, are each far more than Lua's unpack() takes in one script call (~8,000 values).
    const client = tq.client();
    const worker = tq.worker({ concurrency: 10_000, retryDelay: () => 60_000 });
    const n = 10_000;
    const all = deferred();
    const release = deferred();
    let started = 0;
    worker.handle('held', async (task: { payload: number }) => {
      if (++started === n) all.resolve();
      await release.promise;
      if (task.payload % 4 === 1) throw new Error('retry me');
      if (task.payload % 4 === 2) throw new SkipRetryError('archive me');
      return task.payload;
    });
    for (let i = 0; i < n; i += 1000) {
      await client.enqueueMany(
        Array.from({ length: 1000 }, (_, j) => ({ type: 'held', payload: i + j, options: { retention: '1h' } })),
      );
    }
    await worker.start();
    await all.promise;
    release.resolve();
    const inspector = new TaskInspector({ connection: testRedisUrl(), prefix: tq.prefix });
    try {
      await waitFor(
        async () => {
          const q = await inspector.queueInfo('default');
          return q.completed === n / 2 && q.retry === n / 4 && q.archived === n / 4 && q.active === 0 ? q : undefined;
        },
        'half completed, a quarter retrying, a quarter archived',
        30_000,
      );
    } finally {
      await inspector.close();
    }
  }, 60_000);

  it('a corrupt queue rests alone: the healthy queue drains at full speed, the error names the queue and the key', async () => {
    const client = tq.client();
    await client.enqueue('t', {}, { queue: 'broken' });
    await tq.admin.del(tq.key('broken', 'pending'));
    await tq.admin.set(tq.key('broken', 'pending'), 'not a list');
    const worker = tq.worker({ queues: ['broken', 'healthy'], concurrency: 20 });
    const errors: Error[] = [];
    worker.on('error', (e) => errors.push(e));
    let done = 0;
    worker.handle('t', () => void done++);
    await worker.start();
    const t0 = Date.now();
    await client.enqueueMany(
      Array.from({ length: 200 }, () => ({ type: 't', payload: {}, options: { queue: 'healthy' } })),
    );
    await waitFor(() => done === 200, '200 tasks of the healthy queue', 10_000);
    // ~0.1 s; before the fix 2 to 11 s, as every failed round backed off all queues together.
    expect(Date.now() - t0).toBeLessThan(1_000);
    const corrupt = errors.find((e) => e instanceof CorruptQueueError) as CorruptQueueError | undefined;
    expect(corrupt?.queue).toBe('broken');
    expect(corrupt?.key).toBe(tq.key('broken', 'pending'));
    expect(corrupt?.message).toMatch(/holds a string, expected a list/);
  });

  it('an enqueue into a corrupt queue rejects with CorruptQueueError naming the queue and the key', async () => {
    await tq.admin.set(tq.key('broken', 'pending'), 'not a list');
    const client: TaskClient = tq.client();
    const err = await client.enqueue('t', {}, { queue: 'broken' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CorruptQueueError);
    expect((err as CorruptQueueError).code).toBe('CORRUPT_QUEUE');
    expect((err as CorruptQueueError).key).toBe(tq.key('broken', 'pending'));
    // Other queues are fine.
    expect((await client.enqueue('t', {}, { queue: 'fine' })).state).toBe('pending');
  });
});
