import { describe, expect, it } from 'vitest';
import { backends, useTaskq } from '../helpers/taskq.js';
import { deferred } from '../helpers/wait.js';

describe.each(backends)('smoke (%s)', (backend) => {
  const tq = useTaskq('smoke', backend);

  it('enqueues, processes and returns a result', async () => {
    const client = tq.client();
    const worker = tq.worker({ concurrency: 5 });
    worker.handle('add', async (task) => {
      const p = task.payload as { a: number; b: number };
      return p.a + p.b;
    });
    await worker.start();
    const { info, result } = await client.enqueueAndWait<number>('add', { a: 2, b: 3 });
    expect(info.state).toBe('pending');
    expect(await result).toBe(5);
  });

  it('processes 500 tasks', async () => {
    const client = tq.client();
    const worker = tq.worker({ concurrency: 50 });
    const seen = new Set<string>();
    const all = deferred();
    worker.handle('n', (task) => {
      seen.add(task.id);
      if (seen.size === 500) all.resolve();
    });
    await worker.start();
    await client.enqueueMany(Array.from({ length: 500 }, (_, i) => ({ type: 'n', payload: { i } })));
    await all.promise;
    expect(seen.size).toBe(500);
  });
});
