import { describe, expect, it } from 'vitest';
import { flakyBroker } from '../helpers/flaky-broker.js';
import { backends, useTaskq } from '../helpers/taskq.js';
import { waitFor } from '../helpers/wait.js';

/** The broker seam lets a test inject faults between the engine and its store, without touching the store itself. */
describe.each(backends)('faults injected at the broker seam (%s)', (backend) => {
  const tq = useTaskq('flaky', backend);

  it('a complete that fails is sent again while the lease holds: the outcome lands, the task runs once', async () => {
    const broker = flakyBroker(tq.broker());
    const client = tq.client();
    const worker = tq.worker({ broker });
    const errors: Error[] = [];
    worker.on('error', (err) => errors.push(err));
    let runs = 0;
    worker.handle('t', () => ++runs);
    broker.failNext('worker', 'complete', 2);
    await worker.start();
    const info = await client.enqueue('t', {}, { retention: '1m' });
    await waitFor(async () => (await client.getTask(info.id))?.state === 'completed', 'the task to complete');
    expect(runs).toBe(1);
    expect(broker.calls.get('worker.complete')).toBe(3);
    expect(errors.map((e) => e.message)).toEqual([
      'injected fault in worker.complete',
      'injected fault in worker.complete',
    ]);
  });

  it('a failing claim backs off and recovers without losing the task', async () => {
    const broker = flakyBroker(tq.broker());
    const client = tq.client();
    await client.enqueue('t', { n: 1 });
    const worker = tq.worker({ broker });
    worker.on('error', () => undefined);
    const ran: unknown[] = [];
    worker.handle('t', (task) => void ran.push(task.payload));
    broker.failNext('worker', 'dequeue', 3);
    await worker.start();
    await waitFor(() => ran.length === 1, 'the task to run after the faults');
    expect(ran).toEqual([{ n: 1 }]);
    expect(broker.calls.get('worker.dequeue')).toBeGreaterThanOrEqual(4);
  });
});
