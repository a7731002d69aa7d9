import { afterEach, describe, expect, it } from 'vitest';
import {
  DuplicateTaskError,
  TaskFailedError,
  TaskIdConflictError,
  TaskNotFoundError,
  TaskTimeoutError,
  type Task,
} from '../../lib/core/index.js';
import { observeScriptCalls } from '../../lib/core/broker/redis/scripts.js';
import { backends, useTaskq } from '../helpers/taskq.js';
import { deferred, waitFor } from '../helpers/wait.js';

describe.each(backends)('TaskClient (%s)', (backend) => {
  const tq = useTaskq('client', backend);

  it('enqueues a pending task and reads it back with every option', async () => {
    const client = tq.client();
    const deadline = new Date(Date.now() + 3_600_000);
    const info = await client.enqueue(
      'email:welcome',
      { userId: 7 },
      { queue: 'mail', maxRetry: 3, timeout: '2m', deadline, retention: '1h', headers: { trace: 'abc' } },
    );
    expect(info).toMatchObject({
      queue: 'mail',
      type: 'email:welcome',
      state: 'pending',
      maxRetry: 3,
      retried: 0,
      timeout: 120_000,
    });
    expect(info.id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(await tq.probe.pendingIds('mail')).toEqual([info.id]);
    const read = await client.getTask(info.id, 'mail');
    expect(read).toMatchObject({
      id: info.id,
      state: 'pending',
      payload: { userId: 7 },
      maxRetry: 3,
      timeout: 120_000,
      headers: { trace: 'abc' },
    });
    expect(read?.deadline?.getTime()).toBe(deadline.getTime());
    // Without a queue, every registered queue is searched.
    expect((await client.getTask(info.id))?.queue).toBe('mail');
    expect(await client.getTask('nope')).toBeNull();
  });

  it('schedules tasks with processAt and processIn', async () => {
    const client = tq.client();
    const at = new Date(Date.now() + 60_000);
    const a = await client.enqueue('later', 1, { processAt: at });
    const b = await client.enqueue('later', 2, { processIn: '10m' });
    expect(a.state).toBe('scheduled');
    expect(a.nextProcessAt?.getTime()).toBe(at.getTime());
    expect(await tq.probe.score('default', 'scheduled', a.id)).toBe(at.getTime());
    const readB = await client.getTask(b.id, 'default');
    expect(readB?.state).toBe('scheduled');
    expect(readB?.nextProcessAt?.getTime()).toBeGreaterThan(Date.now() + 9 * 60_000);
    // A processAt in the past means now.
    const c = await client.enqueue('later', 3, { processAt: new Date(Date.now() - 1000) });
    expect(c.state).toBe('pending');
  });

  it('rejects a taskId that already exists, in any state', async () => {
    const client = tq.client();
    await client.enqueue('t', 1, { taskId: 'fixed' });
    await expect(client.enqueue('t', 2, { taskId: 'fixed' })).rejects.toBeInstanceOf(TaskIdConflictError);
    await expect(client.enqueue('t', 2, { taskId: 'fixed' })).rejects.toMatchObject({ code: 'TASK_ID_CONFLICT' });
    // Two tasks with one id in one batch: the second conflicts.
    const results = await Promise.allSettled([
      client.enqueue('t', 1, { taskId: 'twin' }),
      client.enqueue('t', 2, { taskId: 'twin' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
  });

  it('holds a unique lock per (queue, type, payload) and frees it on success', async () => {
    const client = tq.client();
    await client.enqueue('report', { day: 1 }, { unique: '1h' });
    await expect(client.enqueue('report', { day: 1 }, { unique: '1h' })).rejects.toBeInstanceOf(DuplicateTaskError);
    await expect(client.enqueue('report', { day: 1 }, { unique: '1h' })).rejects.toMatchObject({
      code: 'DUPLICATE_TASK',
    });
    // Another payload, type or queue is another lock.
    await client.enqueue('report', { day: 2 }, { unique: '1h' });
    await client.enqueue('other', { day: 1 }, { unique: '1h' });
    await client.enqueue('report', { day: 1 }, { unique: '1h', queue: 'q2' });
    const worker = tq.worker({ queues: ['default'] });
    const done = deferred();
    let count = 0;
    worker.handle('report', () => {
      if (++count === 2) done.resolve();
    });
    worker.handle('other', () => undefined);
    await worker.start();
    await done.promise;
    await waitFor(
      async () =>
        (await tq.probe.count('default', 'pending')) === 0 && (await tq.probe.count('default', 'lease')) === 0,
      'drain',
    );
    await client.enqueue('report', { day: 1 }, { unique: '1h' });
  });

  it('enqueueMany stores every task of a batch larger than one script call, in order', async () => {
    const client = tq.client();
    const infos = await client.enqueueMany(Array.from({ length: 1500 }, (_, i) => ({ type: 'bulk', payload: { i } })));
    expect(await tq.probe.pendingIds('default')).toEqual(infos.map((i) => i.id));
    expect(await tq.probe.records('default')).toBe(1500);
  });

  it('waitForResult resolves with the result, rejects with the last error once archived, and times out', async () => {
    const client = tq.client();
    const worker = tq.worker({ retryDelay: () => 10 });
    const gate = deferred();
    worker.handle('double', async (task: Task<number>) => {
      await gate.promise;
      return task.payload * 2;
    });
    worker.handle('boom', () => {
      throw new Error('kaboom');
    });
    await worker.start();
    const ok = await client.enqueue('double', 21);
    const waiting = client.waitForResult<number>(ok.id);
    // Open the gate only once the wait is registered: a task finished without retention before that is gone.
    await waitFor(() => tq.probe.isWaiter('default', ok.id), 'waiter registered');
    gate.resolve();
    expect(await waiting).toBe(42);

    const bad = await client.enqueue('boom', null, { maxRetry: 1 });
    const failure = client.waitForResult(bad.id);
    await expect(failure).rejects.toBeInstanceOf(TaskFailedError);
    await expect(failure).rejects.toMatchObject({ message: 'kaboom', code: 'TASK_FAILED' });

    const slow = await client.enqueue('never', null);
    await expect(client.waitForResult(slow.id, { timeout: 50 })).rejects.toBeInstanceOf(TaskTimeoutError);
    await expect(client.waitForResult('missing')).rejects.toBeInstanceOf(TaskNotFoundError);
    const aborted = new AbortController();
    const pending = client.waitForResult(slow.id, { signal: aborted.signal });
    aborted.abort(new Error('stop waiting'));
    await expect(pending).rejects.toThrow('stop waiting');
  });

  it('waitForResult on a task finished earlier reads its stored result (retention)', async () => {
    const client = tq.client();
    const worker = tq.worker();
    worker.handle('r', () => ({ ok: true }));
    await worker.start();
    const { info, result } = await client.enqueueAndWait('r', 1, { retention: '1h' });
    expect(await result).toEqual({ ok: true });
    expect(await client.waitForResult(info.id)).toEqual({ ok: true });
    const stored = await client.getTask(info.id);
    expect(stored).toMatchObject({ state: 'completed', result: { ok: true } });
    expect(stored?.completedAt).toBeInstanceOf(Date);
  });

  it('enqueueAndWait never misses a task that finishes at once', async () => {
    const client = tq.client();
    const worker = tq.worker({ concurrency: 20 });
    worker.handle('fast', (task: Task<number>) => task.payload + 1);
    await worker.start();
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => (await client.enqueueAndWait<number>('fast', i)).result),
    );
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await tq.probe.count('default', 'waiters')).toBe(0);
  });

  it('keeps the result of an awaited task for a grace period even without retention', async () => {
    // If the notification is lost (a reconnect of the subscriber), the waiter re-reads the task: the result must be there.
    const client = tq.client();
    const worker = tq.worker();
    worker.handle('g', () => 'kept');
    await worker.start();
    const { info, result } = await client.enqueueAndWait('g', null);
    expect(await result).toBe('kept');
    const stored = await waitFor(async () => {
      const t = await client.getTask(info.id);
      return t?.state === 'completed' ? t : undefined;
    }, 'completed record');
    expect(stored.result).toBe('kept');
    const expiry = (await tq.probe.score('default', 'completed', info.id)) ?? 0;
    expect(expiry - Date.now()).toBeGreaterThan(50_000);
    expect(expiry - Date.now()).toBeLessThanOrEqual(60_000);
    expect(await client.waitForResult(info.id)).toBe('kept');
  });

  it('cancels pending, scheduled and retry tasks, and aborts an active one', async () => {
    const client = tq.client();
    const pending = await client.enqueue('x', 1, { queue: 'cq' });
    const scheduled = await client.enqueue('x', 2, { queue: 'cq', processIn: '1h', unique: '1h' });
    expect(await client.cancel(pending.id, 'cq')).toBe(true);
    expect(await client.cancel(scheduled.id)).toBe(true);
    expect(await client.getTask(pending.id, 'cq')).toBeNull();
    expect(await client.getTask(scheduled.id, 'cq')).toBeNull();
    expect(await tq.probe.count('cq', 'pending')).toBe(0);
    // The unique lock went with the canceled task.
    await client.enqueue('x', 2, { queue: 'cq', processIn: '1h', unique: '1h' });
    expect(await client.cancel('missing', 'cq')).toBe(false);

    const worker = tq.worker({ queues: ['cq'], retryDelay: () => 3_600_000 });
    const started = deferred<Task>();
    worker.handle('fail-once', () => {
      throw new Error('first');
    });
    worker.handle('long', (task) => {
      started.resolve(task);
      return new Promise((_, reject) => task.signal.addEventListener('abort', () => reject(task.signal.reason)));
    });
    await worker.start();
    const retry = await client.enqueue('fail-once', null, { queue: 'cq' });
    await waitFor(async () => (await client.getTask(retry.id, 'cq'))?.state === 'retry', 'task in retry');
    expect(await client.cancel(retry.id, 'cq')).toBe(true);
    expect(await client.getTask(retry.id, 'cq')).toBeNull();

    const active = await client.enqueue('long', null, { queue: 'cq' });
    const task = await started.promise;
    expect(await client.cancel(active.id, 'cq')).toBe(true);
    await waitFor(() => task.signal.aborted, 'signal aborted');
    expect((task.signal.reason as { code: string }).code).toBe('TASK_CANCELED');
    const archived = await waitFor(async () => {
      const t = await client.getTask(active.id, 'cq');
      return t?.state === 'archived' ? t : undefined;
    }, 'canceled task archived');
    expect(archived.lastError).toContain('canceled');
  });
});

/** How the Redis backend sends enqueues (script calls are Redis's; the memory backend has none to count). */
describe('TaskClient on Redis: script calls', () => {
  const tq = useTaskq('client-calls');
  afterEach(() => observeScriptCalls(undefined));

  it('sends enqueueMany as one script call per queue and keeps order', async () => {
    const client = tq.client();
    const calls: string[] = [];
    observeScriptCalls((name) => calls.push(name));
    const infos = await client.enqueueMany([
      ...Array.from({ length: 1500 }, (_, i) => ({ type: 'bulk', payload: { i } })),
      { type: 'bulk', payload: { i: -1 }, options: { queue: 'other' } },
    ]);
    expect(infos).toHaveLength(1501);
    expect(infos[1499].payload).toEqual({ i: 1499 });
    // 1500 tasks of one queue: two chunks (≤ 1000 each), pipelined; plus one call for the other queue.
    expect(calls.filter((c) => c === 'enqueue')).toHaveLength(3);
    expect(await tq.admin.llen(tq.key('default', 'pending'))).toBe(1500);
    expect(await tq.admin.hlen(tq.key('default', 't'))).toBe(1500);
  });

  it('coalesces concurrent enqueue calls into one script call', async () => {
    const client = tq.client();
    const calls: string[] = [];
    observeScriptCalls((name) => calls.push(name));
    const infos = await Promise.all(Array.from({ length: 100 }, (_, i) => client.enqueue('c', { i })));
    expect(new Set(infos.map((i) => i.id)).size).toBe(100);
    expect(calls.filter((c) => c === 'enqueue')).toHaveLength(1);
  });
});
