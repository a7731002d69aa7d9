import { describe, expect, it } from 'vitest';
import type { Task } from '../../lib/core/index.js';
import { backends, useTaskq } from '../helpers/taskq.js';
import { deferred, waitFor } from '../helpers/wait.js';

describe.each(backends)('TaskWorker (%s)', (backend) => {
  const tq = useTaskq('worker', backend);

  it('serves weighted queues in proportion to their weights', async () => {
    const client = tq.client();
    await client.enqueueMany([
      ...Array.from({ length: 300 }, () => ({ type: 'w', payload: 'high', options: { queue: 'high' } })),
      ...Array.from({ length: 300 }, () => ({ type: 'w', payload: 'low', options: { queue: 'low' } })),
    ]);
    const order: string[] = [];
    const done = deferred();
    // Concurrency 1: each fetch claims one task, so the queue order of every fetch shows.
    const worker = tq.worker({ concurrency: 1, queues: { high: 4, low: 1 } });
    worker.handle('w', (task: Task<string>) => {
      order.push(task.payload);
      if (order.length === 200) done.resolve();
    });
    await worker.start();
    await done.promise;
    const high = order.slice(0, 200).filter((q) => q === 'high').length;
    // Expected 160 of 200 (4/5); the bound leaves room for randomness (p < 1e-6 outside it).
    expect(high).toBeGreaterThan(130);
    expect(high).toBeLessThan(190);
  });

  it('drains higher-priority queues first with strictPriority', async () => {
    const client = tq.client();
    await client.enqueueMany([
      ...Array.from({ length: 50 }, () => ({ type: 's', payload: 'low', options: { queue: 'low' } })),
      ...Array.from({ length: 50 }, () => ({ type: 's', payload: 'critical', options: { queue: 'critical' } })),
    ]);
    const order: string[] = [];
    const done = deferred();
    const worker = tq.worker({ concurrency: 1, queues: { critical: 6, low: 1 }, strictPriority: true });
    worker.handle('s', (task: Task<string>) => {
      order.push(task.payload);
      if (order.length === 100) done.resolve();
    });
    await worker.start();
    await done.promise;
    expect(order.slice(0, 50).every((q) => q === 'critical')).toBe(true);
  });

  it('starts delayed tasks at their time, not before and not much after', async () => {
    const client = tq.client();
    const worker = tq.worker();
    const lateness: number[] = [];
    const done = deferred();
    worker.handle('delayed', (task: Task<{ at: number }>) => {
      lateness.push(Date.now() - task.payload.at);
      if (lateness.length === 10) done.resolve();
    });
    await worker.start();
    for (let i = 0; i < 10; i++) {
      const delay = 100 + i * 30;
      await client.enqueue('delayed', { at: Date.now() + delay }, { processIn: delay });
    }
    await done.promise;
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
    // Generous for a loaded CI machine; the benchmark measures the real p99.
    expect(Math.max(...lateness)).toBeLessThan(250);
  });

  it('retries after the retry delay and then succeeds', async () => {
    const client = tq.client();
    let attempts = 0;
    const worker = tq.worker({ retryDelay: () => 150 });
    const times: number[] = [];
    worker.handle('flaky', () => {
      times.push(Date.now());
      if (++attempts < 3) throw new Error(`attempt ${attempts}`);
      return 'ok';
    });
    await worker.start();
    const { info, result } = await client.enqueueAndWait('flaky', null, { retention: '1m' });
    expect(await result).toBe('ok');
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(140);
    const stored = await client.getTask(info.id);
    expect(stored).toMatchObject({ state: 'completed', retried: 2, lastError: 'attempt 2', result: 'ok' });
  });

  it('keeps extending the lease of a long task so no one else runs it', async () => {
    const client = tq.client();
    const runs: string[] = [];
    const release = deferred();
    const options = { leaseDuration: 600 };
    const a = tq.worker(options);
    const b = tq.worker(options);
    for (const w of [a, b]) {
      w.handle('long', async (task) => {
        runs.push(task.id);
        await release.promise;
      });
    }
    await a.start();
    await b.start();
    const { result } = await client.enqueueAndWait('long', null);
    await waitFor(() => runs.length === 1, 'task started');
    // Three lease durations: without heartbeats the other worker would have taken it over.
    await new Promise((r) => setTimeout(r, 1800));
    await Promise.all([a.recoverNow(), b.recoverNow()]);
    release.resolve();
    await result;
    expect(runs).toHaveLength(1);
  });

  it('deletes completed tasks once their retention expires', async () => {
    const client = tq.client();
    const worker = tq.worker();
    worker.handle('keep', () => 1);
    await worker.start();
    const { info, result } = await client.enqueueAndWait('keep', null, { retention: 300 });
    await result;
    expect((await client.getTask(info.id))?.state).toBe('completed');
    await waitFor(
      async () => {
        await worker.cleanNow();
        return (await client.getTask(info.id)) === null;
      },
      'completed task deleted',
      5000,
      100,
    );
    expect(await tq.probe.count('default', 'completed')).toBe(0);
  });

  it('accepts handlers registered after start', async () => {
    const client = tq.client();
    const worker = tq.worker({ retryDelay: () => 20 });
    await worker.start();
    const { result } = await client.enqueueAndWait('late', 5);
    await new Promise((r) => setTimeout(r, 50));
    worker.handle('late', (task: Task<number>) => task.payload * 3);
    expect(await result).toBe(15);
  });
});
