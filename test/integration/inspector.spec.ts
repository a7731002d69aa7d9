import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClosedError,
  DuplicateTaskError,
  InvalidOptionError,
  InvalidStateError,
  SimulatedClock,
  TaskInspector,
  TaskNotFoundError,
  type InspectorOptions,
  type Task,
  type TaskInfo,
  type TaskqOptions,
  type TaskState,
} from '../../lib/core/index.js';
import { utcDay } from '../../lib/core/broker/redis/keys.js';
import { testRedisUrl } from '../helpers/redis.js';
import { backends, useTaskq, type Backend } from '../helpers/taskq.js';
import { deferred, waitFor } from '../helpers/wait.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asserts `probe` stays truthy for `ms` (polled every 20 ms). */
async function staysFor(probe: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await probe())) throw new Error(`expected ${what} for ${ms} ms`);
    await sleep(20);
  }
}

describe.each(backends)('TaskInspector (%s)', (backend: Backend) => {
  const tq = useTaskq('insp', backend);
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  });

  function inspector(options: InspectorOptions = {}): TaskInspector {
    const i = new TaskInspector({ connection: tq.connection, prefix: tq.prefix, ...options });
    closers.push(() => i.close());
    return i;
  }

  const stateOf = async (i: TaskInspector, id: string, queue?: string): Promise<TaskState | undefined> =>
    (await i.getTask(id, queue))?.state;

  it('lists the registered queues, sorted', async () => {
    const client = tq.client();
    const insp = inspector();
    expect(await insp.queues()).toEqual([]);
    await client.enqueue('x', 1, { queue: 'zeta' });
    await client.enqueue('x', 1, { queue: 'alpha' });
    await client.enqueue('x', 1);
    expect(await insp.queues()).toEqual(['alpha', 'default', 'zeta']);
  });

  it('counts every state, today and in total, with the pause flag', async () => {
    const q = 'counts';
    const client = tq.client();
    const insp = inspector();
    const release = deferred();
    const blocked = deferred<string>();
    const worker = tq.worker({ queues: [q], concurrency: 5, retryDelay: () => 60_000 });
    worker.handle('ok', () => 'fine');
    worker.handle('fail', () => {
      throw new Error('boom');
    });
    worker.handle('block', async (task) => {
      blocked.resolve(task.id);
      await release.promise;
    });
    await worker.start();

    const done = await client.enqueue('ok', 1, { queue: q, retention: '1h' });
    const retry = await client.enqueue('fail', 2, { queue: q, maxRetry: 3 });
    const dead = await client.enqueue('fail', 3, { queue: q, maxRetry: 0 });
    const active = await client.enqueue('block', 4, { queue: q });
    expect(await blocked.promise).toBe(active.id);
    await waitFor(async () => (await stateOf(insp, done.id, q)) === 'completed', 'completed');
    await waitFor(async () => (await stateOf(insp, retry.id, q)) === 'retry', 'retry');
    await waitFor(async () => (await stateOf(insp, dead.id, q)) === 'archived', 'archived');

    // Paused, the running worker leaves new tasks pending.
    await insp.pauseQueue(q);
    for (let i = 0; i < 3; i++) await client.enqueue('ok', i, { queue: q });
    await client.enqueue('ok', 'later', { queue: q, processIn: '1h' });
    await client.enqueue('ok', 'later2', { queue: q, processIn: '2h' });

    const info = await insp.queueInfo(q);
    expect(info).toMatchObject({
      queue: q,
      pending: 3,
      active: 1,
      scheduled: 2,
      retry: 1,
      archived: 1,
      completed: 1,
      size: 9,
      // Attempts that finished: ok (success), fail (retry), fail (archived); two of them failed.
      processed: 3,
      failed: 2,
      processedTotal: 3,
      failedTotal: 2,
      paused: true,
    });
    expect(info.pausedAt).toBeInstanceOf(Date);
    expect(Math.abs(info.timestamp.getTime() - Date.now())).toBeLessThan(5_000);
    expect(info.latency).toBeGreaterThanOrEqual(0);
    expect(info.latency).toBeLessThan(5_000);
    if (info.memoryUsage !== undefined) expect(info.memoryUsage).toBeGreaterThan(0);

    // Daily counters are the ones of today's key; totals keep counting across days (written by hand on Redis).
    let processedToday = 3;
    if (backend === 'redis') {
      await tq.admin.set(tq.key(q, `processed:${utcDay(Date.now())}`), '1');
      await tq.admin.incrby(tq.key(q, 'processed'), 100);
      const after = await insp.queueInfo(q);
      expect(after.processed).toBe(1);
      expect(after.processedTotal).toBe(103);
      processedToday = 1;
    }

    await insp.unpauseQueue(q);
    release.resolve();
    await waitFor(async () => {
      const i = await insp.queueInfo(q);
      return i.pending === 0 && i.active === 0 && !i.paused;
    }, 'the queue to drain once unpaused');
    const drained = await insp.queueInfo(q);
    expect(drained.processed).toBe(processedToday + 4);
    expect(drained.completed).toBe(1);
    expect(drained.pausedAt).toBeUndefined();
  });

  it('reports an empty or unknown queue as zeros', async () => {
    const info = await inspector().queueInfo('nothing-here');
    expect(info).toMatchObject({
      size: 0,
      pending: 0,
      active: 0,
      scheduled: 0,
      retry: 0,
      archived: 0,
      completed: 0,
      processed: 0,
      failed: 0,
      processedTotal: 0,
      failedTotal: 0,
      paused: false,
      latency: 0,
    });
  });

  it('measures latency from the oldest pending task', async () => {
    const q = 'lat';
    const client = tq.client();
    const insp = inspector();
    await client.enqueue('x', 'oldest', { queue: q });
    await sleep(200);
    await client.enqueue('x', 'newer', { queue: q });
    const info = await insp.queueInfo(q);
    expect(info.latency).toBeGreaterThanOrEqual(190);
    expect(info.latency).toBeLessThan(5_000);

    // With a simulated clock the figure is exact: now - ready-at of the head.
    const head = (await insp.listTasks(q, 'pending', { size: 1 }))[0];
    const readyAt = JSON.parse((await tq.probe.message(q, head.id))!).s as number;
    const clock = new SimulatedClock(readyAt + 12_345);
    expect((await inspector({ clock }).queueInfo(q)).latency).toBe(12_345);
  });

  it('lists pending tasks in queue order, page by page', async () => {
    const q = 'pages';
    const client = tq.client();
    const insp = inspector();
    for (let i = 0; i < 5; i++) await client.enqueue('n', i, { queue: q });
    const payloads = async (page?: { page?: number; size?: number }) =>
      (await insp.listTasks(q, 'pending', page)).map((t) => t.payload);
    expect(await payloads()).toEqual([0, 1, 2, 3, 4]);
    expect(await payloads({ page: 1, size: 2 })).toEqual([0, 1]);
    expect(await payloads({ page: 2, size: 2 })).toEqual([2, 3]);
    expect(await payloads({ page: 3, size: 2 })).toEqual([4]);
    expect(await payloads({ page: 4, size: 2 })).toEqual([]);
    expect(await payloads({ page: 2, size: 3 })).toEqual([3, 4]);
    const all = await insp.listTasks(q, 'pending');
    expect(all.every((t) => t.state === 'pending' && t.queue === q && t.type === 'n')).toBe(true);

    // The default page size is 30.
    await client.enqueueMany(
      Array.from({ length: 40 }, (_, i) => ({ type: 'n', payload: 5 + i, options: { queue: q } })),
    );
    expect(await insp.listTasks(q, 'pending')).toHaveLength(30);
    expect(await payloads({ page: 2 })).toEqual(Array.from({ length: 15 }, (_, i) => 30 + i));
  });

  it('lists scheduled tasks by due time and archived ones most recent first', async () => {
    const q = 'zsets';
    const client = tq.client();
    const clock = new SimulatedClock(Date.now());
    const insp = inspector({ clock });
    for (const minutes of [30, 10, 50, 20, 40])
      await client.enqueue('s', minutes, { queue: q, processIn: `${minutes}m` });
    const scheduled = await insp.listTasks(q, 'scheduled');
    expect(scheduled.map((t) => t.payload)).toEqual([10, 20, 30, 40, 50]);
    expect(scheduled.every((t) => t.state === 'scheduled' && t.nextProcessAt instanceof Date)).toBe(true);
    expect((await insp.listTasks(q, 'scheduled', { page: 2, size: 2 })).map((t) => t.payload)).toEqual([30, 40]);

    // Archive in the order 10, 30, 50, 20 (a millisecond apart): listed newest first.
    const byPayload = new Map(scheduled.map((t) => [t.payload, t.id]));
    for (const p of [10, 30, 50, 20]) {
      clock.advance(1);
      await insp.archiveTask(byPayload.get(p)!, q);
    }
    expect((await insp.listTasks(q, 'archived')).map((t) => t.payload)).toEqual([20, 50, 30, 10]);
    expect((await insp.listTasks(q, 'archived', { page: 2, size: 2 })).map((t) => t.payload)).toEqual([30, 10]);
    expect((await insp.listTasks(q, 'scheduled')).map((t) => t.payload)).toEqual([40]);
  });

  it('lists retry, completed and active tasks', async () => {
    const q = 'states';
    const client = tq.client();
    const insp = inspector();
    const release = deferred();
    let running = 0;
    const twoRunning = deferred();
    const worker = tq.worker({
      queues: [q],
      concurrency: 10,
      retryDelay: (_retried, _err, task) => 60_000 + (task.payload as number) * 1000,
    });
    worker.handle('fail', () => {
      throw new Error('nope');
    });
    worker.handle('ok', (task: Task<number>) => task.payload * 2);
    worker.handle('block', async () => {
      if (++running === 2) twoRunning.resolve();
      await release.promise;
    });
    await worker.start();
    const fails = [];
    for (const p of [3, 1, 2]) fails.push(await client.enqueue('fail', p, { queue: q, maxRetry: 5 }));
    for (const p of [1, 2]) await client.enqueue('ok', p, { queue: q, retention: `${p}h` });
    const blocks = [await client.enqueue('block', 'a', { queue: q }), await client.enqueue('block', 'b', { queue: q })];
    await twoRunning.promise;
    await waitFor(
      async () => (await insp.queueInfo(q)).retry === 3 && (await insp.queueInfo(q)).completed === 2,
      'retry and completed',
    );

    const retry = await insp.listTasks(q, 'retry');
    expect(retry.map((t) => t.payload)).toEqual([1, 2, 3]);
    expect(retry[0]).toMatchObject({ state: 'retry', retried: 1, lastError: 'nope' });
    expect(retry[0].nextProcessAt!.getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect((await insp.listTasks(q, 'retry', { page: 2, size: 2 })).map((t) => t.payload)).toEqual([3]);

    const completed = await insp.listTasks(q, 'completed');
    expect(completed.map((t) => [t.payload, t.result, t.state])).toEqual([
      [1, 2, 'completed'],
      [2, 4, 'completed'],
    ]);
    expect(completed[0].completedAt).toBeInstanceOf(Date);

    const active = await insp.listTasks(q, 'active');
    expect(active.map((t) => t.id).sort()).toEqual(blocks.map((b) => b.id).sort());
    expect(active.every((t) => t.state === 'active')).toBe(true);
    expect(await insp.listTasks(q, 'active', { page: 1, size: 1 })).toHaveLength(1);
    expect(await insp.listTasks(q, 'active', { page: 3, size: 1 })).toHaveLength(0);

    // An active id without a lease (a lost lease key, removed by hand on Redis) is still listed as active.
    if (backend === 'redis') {
      await tq.admin.zrem(tq.key(q, 'lease'), blocks[0].id);
      expect((await insp.listTasks(q, 'active')).map((t) => t.id).sort()).toEqual(blocks.map((b) => b.id).sort());
      await tq.admin.zadd(tq.key(q, 'lease'), String(Date.now() + 60_000), blocks[0].id);
    }
    release.resolve();
  });

  it('decodes payloads with the configured codec', async () => {
    const codec = {
      encode: (p: unknown) => ({ wrapped: p }),
      decode: (e: unknown) => (e as { wrapped: unknown }).wrapped,
    };
    const client = tq.client({ codec });
    const insp = inspector({ codec });
    const info = await client.enqueue('c', { n: 1 }, { queue: 'codec' });
    expect((await insp.listTasks('codec', 'pending'))[0].payload).toEqual({ n: 1 });
    expect((await insp.getTask(info.id))!.payload).toEqual({ n: 1 });
  });

  it('gets a task with and without its queue', async () => {
    const client = tq.client();
    const insp = inspector();
    await client.enqueue('x', 'a', { queue: 'one' });
    const info = await client.enqueue('x', { hello: 'world' }, { queue: 'two', headers: { trace: 't1' }, maxRetry: 7 });
    const expected: Partial<TaskInfo> = {
      id: info.id,
      queue: 'two',
      type: 'x',
      payload: { hello: 'world' },
      state: 'pending',
      maxRetry: 7,
      retried: 0,
      headers: { trace: 't1' },
    };
    expect(await insp.getTask(info.id, 'two')).toMatchObject(expected);
    expect(await insp.getTask(info.id)).toMatchObject(expected);
    expect(await insp.getTask(info.id, 'one')).toBeNull();
    expect(await insp.getTask('missing')).toBeNull();
  });

  it('runs a scheduled task now, and a worker processes it', async () => {
    const q = 'run';
    const client = tq.client();
    const insp = inspector();
    const ran = deferred<string>();
    const worker = tq.worker({ queues: [q] });
    worker.handle('later', (task) => ran.resolve(task.id));
    await worker.start();
    const info = await client.enqueue('later', null, { queue: q, processIn: '1h' });
    expect(await stateOf(insp, info.id)).toBe('scheduled');
    const started = Date.now();
    await insp.runTask(info.id); // no queue: searched
    expect(await ran.promise).toBe(info.id);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('runs archived and retry tasks again, keeping their retry count; latency counts from the run', async () => {
    const q = 'rerun';
    const hourAgo = new SimulatedClock(Date.now() - 3_600_000);
    const client = tq.client({ clock: hourAgo } as TaskqOptions);
    const insp = inspector();
    const old = await client.enqueue('x', 'old', { queue: q });
    expect((await insp.queueInfo(q)).latency).toBeGreaterThan(3_500_000);
    await insp.archiveTask(old.id, q);
    expect(await stateOf(insp, old.id, q)).toBe('archived');
    await insp.runTask(old.id, q);
    expect(await stateOf(insp, old.id, q)).toBe('pending');
    // The ready-at time was reset by runTask: the hour in the archive does not count as waiting.
    expect((await insp.queueInfo(q)).latency).toBeLessThan(5_000);

    // retry → pending
    const worker = tq.worker({ queues: ['rq'], retryDelay: () => 60_000 });
    let attempts = 0;
    const second = deferred<number>();
    worker.handle('flaky', (task) => {
      attempts++;
      if (attempts === 1) throw new Error('first attempt fails');
      second.resolve(task.retried);
    });
    await worker.start();
    const flaky = await tq.client().enqueue('flaky', null, { queue: 'rq' });
    await waitFor(async () => (await stateOf(insp, flaky.id, 'rq')) === 'retry', 'retry state');
    await insp.runTask(flaky.id, 'rq');
    expect(await second.promise).toBe(1);
  });

  it('archives pending, scheduled and retry tasks', async () => {
    const q = 'arch';
    const client = tq.client();
    const insp = inspector();
    const pending = await client.enqueue('x', 1, { queue: q });
    const scheduled = await client.enqueue('x', 2, { queue: q, processIn: '1h' });
    await insp.archiveTask(pending.id, q);
    await insp.archiveTask(scheduled.id); // no queue
    expect(await stateOf(insp, pending.id)).toBe('archived');
    expect(await stateOf(insp, scheduled.id)).toBe('archived');
    const info = await insp.queueInfo(q);
    expect(info).toMatchObject({ pending: 0, scheduled: 0, archived: 2 });

    const worker = tq.worker({ queues: ['arq'], retryDelay: () => 60_000 });
    worker.handle('f', () => {
      throw new Error('x');
    });
    await worker.start();
    const failing = await client.enqueue('f', null, { queue: 'arq' });
    await waitFor(async () => (await stateOf(insp, failing.id, 'arq')) === 'retry', 'retry state');
    await insp.archiveTask(failing.id);
    const archived = await insp.getTask(failing.id, 'arq');
    expect(archived).toMatchObject({ state: 'archived', lastError: 'x', retried: 1 });

    // Already archived: refused with the state named.
    await expect(insp.archiveTask(pending.id, q)).rejects.toThrow(InvalidStateError);
    await expect(insp.archiveTask(pending.id, q)).rejects.toThrow(
      /is archived; archiveTask applies to pending, scheduled or retry/,
    );
  });

  it('deletes tasks in any waiting state and frees the unique lock', async () => {
    const q = 'del';
    const client = tq.client();
    const insp = inspector();
    const unique = await client.enqueue('u', { a: 1 }, { queue: q, unique: '1h' });
    await expect(client.enqueue('u', { a: 1 }, { queue: q, unique: '1h' })).rejects.toThrow(DuplicateTaskError);
    await insp.deleteTask(unique.id); // no queue
    expect(await insp.getTask(unique.id, q)).toBeNull();
    const again = await client.enqueue('u', { a: 1 }, { queue: q, unique: '1h' });
    expect(again.id).not.toBe(unique.id);

    const scheduled = await client.enqueue('u', 's', { queue: q, processIn: '1h', unique: '1h' });
    const archived = await client.enqueue('u', 'a', { queue: q });
    await insp.archiveTask(archived.id, q);
    await insp.deleteTask(scheduled.id, q);
    await insp.deleteTask(archived.id, q);
    expect(await insp.queueInfo(q)).toMatchObject({ size: 1, pending: 1, scheduled: 0, archived: 0 });
    expect(await tq.probe.records(q)).toBe(1);
    await client.enqueue('u', 's', { queue: q, processIn: '1h', unique: '1h' });

    await expect(insp.deleteTask(unique.id, q)).rejects.toThrow(TaskNotFoundError);
  });

  it('refuses wrong states and unknown tasks with typed errors', async () => {
    const q = 'errs';
    const client = tq.client();
    const insp = inspector();
    const release = deferred();
    const started = deferred();
    const worker = tq.worker({ queues: [q] });
    worker.handle('block', async () => {
      started.resolve();
      await release.promise;
      return 'done';
    });
    await worker.start();
    const active = await client.enqueue('block', null, { queue: q, retention: '1h' });
    await started.promise;
    await waitFor(async () => (await stateOf(insp, active.id, q)) === 'active', 'active');

    for (const op of ['runTask', 'archiveTask', 'deleteTask'] as const) {
      const err = await insp[op](active.id, q).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidStateError);
      expect((err as InvalidStateError).code).toBe('INVALID_STATE');
      expect((err as Error).message).toMatch(
        new RegExp(`${op}: task "${active.id}" in queue "${q}" is active; ${op} applies to`),
      );
    }
    // Active without a lease (its lease key lost, removed by hand on Redis): still refused.
    if (backend === 'redis') {
      const lease = await tq.admin.zscore(tq.key(q, 'lease'), active.id);
      await tq.admin.zrem(tq.key(q, 'lease'), active.id);
      await expect(insp.runTask(active.id, q)).rejects.toThrow(/is active/);
      await expect(insp.archiveTask(active.id, q)).rejects.toThrow(/is active/);
      await expect(insp.deleteTask(active.id, q)).rejects.toThrow(/is active/);
      await tq.admin.zadd(tq.key(q, 'lease'), lease!, active.id);
    }
    release.resolve();
    await waitFor(async () => (await stateOf(insp, active.id, q)) === 'completed', 'completed');
    await expect(insp.runTask(active.id, q)).rejects.toThrow(
      /is completed; runTask applies to scheduled, retry or archived/,
    );
    await expect(insp.archiveTask(active.id, q)).rejects.toThrow(/is completed/);
    await insp.deleteTask(active.id, q); // a completed task can be deleted

    const pending = await tq.client().enqueue('other', null, { queue: 'idle' });
    await expect(insp.runTask(pending.id, 'idle')).rejects.toThrow(
      /is pending; runTask applies to scheduled, retry or archived/,
    );

    // Not found, with or without a queue.
    for (const op of ['runTask', 'archiveTask', 'deleteTask'] as const) {
      await expect(insp[op]('missing', q)).rejects.toThrow(TaskNotFoundError);
      await expect(insp[op]('missing')).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
    }
  });

  it('rejects invalid queues, states, pages and ids with InvalidOptionError', async () => {
    const insp = inspector();
    const field = async (p: Promise<unknown>): Promise<string> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidOptionError);
      return (err as InvalidOptionError).field;
    };
    expect(await field(insp.queueInfo('bad queue'))).toBe('queue');
    expect(await field(insp.queueInfo(''))).toBe('queue');
    expect(await field(insp.listTasks('q{x}', 'pending'))).toBe('queue');
    expect(await field(insp.getTask('id', 'a/b'))).toBe('queue');
    expect(await field(insp.runTask('id', 'x'.repeat(129)))).toBe('queue');
    expect(await field(insp.pauseQueue('no spaces'))).toBe('queue');
    expect(await field(insp.unpauseQueue('no spaces'))).toBe('queue');
    expect(await field(insp.listTasks('q', 'done' as TaskState))).toBe('state');
    await expect(insp.listTasks('q', 'done' as TaskState)).rejects.toThrow(
      /expected one of pending, active, scheduled, retry, archived, completed/,
    );
    expect(await field(insp.listTasks('q', 'pending', { page: 0 }))).toBe('page');
    expect(await field(insp.listTasks('q', 'pending', { page: -1 }))).toBe('page');
    expect(await field(insp.listTasks('q', 'pending', { page: 1.5 }))).toBe('page');
    expect(await field(insp.listTasks('q', 'pending', { size: 0 }))).toBe('size');
    expect(await field(insp.listTasks('q', 'pending', { size: 1001 }))).toBe('size');
    expect(await field(insp.listTasks('q', 'pending', { size: 2.5 }))).toBe('size');
    expect(await field(insp.listTasks('q', 'pending', { page: Number.MAX_SAFE_INTEGER, size: 1000 }))).toBe('page');
    expect(await field(insp.getTask(''))).toBe('id');
    expect(await insp.listTasks('q', 'pending', { size: 1000 })).toEqual([]);
  });

  it('pauses a running worker’s pickup and resumes it promptly', async () => {
    const q = 'pz';
    const client = tq.client();
    const insp = inspector();
    const seen: string[] = [];
    const worker = tq.worker({ queues: [q] });
    worker.handle('p', (task) => {
      seen.push(task.id);
    });
    await worker.start();
    // The worker is idle, blocked on the wake-up markers.
    const warm = await client.enqueue('p', 0, { queue: q });
    await waitFor(() => seen.includes(warm.id), 'the warm-up task');

    await insp.pauseQueue(q);
    await insp.pauseQueue(q); // idempotent
    expect((await insp.queueInfo(q)).paused).toBe(true);
    const held = await client.enqueue('p', 1, { queue: q });
    await staysFor(
      async () => !seen.includes(held.id) && (await stateOf(insp, held.id, q)) === 'pending',
      300,
      'the task to stay pending',
    );

    const resumed = Date.now();
    await insp.unpauseQueue(q);
    await waitFor(() => seen.includes(held.id), 'the task after unpause', 2_000, 5);
    expect(Date.now() - resumed).toBeLessThan(1_000);
    expect((await insp.queueInfo(q)).paused).toBe(false);
    await insp.unpauseQueue(q); // idempotent
  });
});

/** What only the Redis backend has: records written by hand, connections passed in. */
describe('TaskInspector on Redis', () => {
  const tq = useTaskq('insp-redis');
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  });

  function inspector(options: InspectorOptions = {}): TaskInspector {
    const i = new TaskInspector({ connection: testRedisUrl(), prefix: tq.prefix, ...options });
    closers.push(() => i.close());
    return i;
  }

  it('lists a corrupt record with the reason, and still reports latency', async () => {
    const q = 'corrupt';
    const insp = inspector();
    await tq.admin.hset(tq.key(q, 't'), 'bad', '{not json');
    await tq.admin.lpush(tq.key(q, 'pending'), 'bad');
    const [task] = await insp.listTasks(q, 'pending');
    expect(task.id).toBe('bad');
    expect(task.lastError).toMatch(/corrupt task message/);
    expect((await insp.queueInfo(q)).latency).toBe(0);
  });

  it('never closes a connection passed in, and refuses calls once closed', async () => {
    const own = new Redis(testRedisUrl());
    try {
      const insp = new TaskInspector({ connection: own, prefix: tq.prefix });
      expect(await insp.queues()).toEqual([]);
      await insp.close();
      expect(await own.ping()).toBe('PONG');
      await expect(insp.queues()).rejects.toThrow(ClosedError);
      await expect(insp.queueInfo('q')).rejects.toMatchObject({ code: 'CLOSED' });
    } finally {
      own.disconnect();
    }
    const mine = new TaskInspector({ connection: testRedisUrl(), prefix: tq.prefix });
    await mine.queues();
    await mine.close();
    await waitFor(() => mine.redis.status === 'end', 'the owned connection to end', 2_000);
  });
});
