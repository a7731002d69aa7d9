import { describe, expect, it } from 'vitest';
import { ShutdownError, type Task } from '../../lib/core/index.js';
import { backends, useTaskq } from '../helpers/taskq.js';
import { deferred, waitFor, waitForTaskState } from '../helpers/wait.js';

/**
 * Crash safety as behaviour, on both backends: a claim whose worker died is recovered once its lease expires, that
 * worker's late acknowledgement is fenced, and a graceful shutdown gives unfinished tasks back to the head of their
 * queue. (crash.spec.ts adds what needs Redis itself: a worker process killed with SIGKILL, leases rewritten by hand.)
 */
describe.each(backends)('recovery and shutdown (%s)', (backend) => {
  const tq = useTaskq('recovery', backend);

  it('a task claimed by a worker that died runs again once its lease expires; the dead worker’s late ack is fenced', async () => {
    const client = tq.client();
    const info = await client.enqueue('job', { n: 1 }, { retention: '1h' });
    // The "dead" worker: it claims the task under its own lease score and never acknowledges it in time.
    const dead = tq.broker();
    const deadScore = String(Date.now() + 500 + 0.5);
    const claimed = await dead.worker.dequeue('default', 1, deadScore);
    expect(claimed.tasks.map((t) => t.id)).toEqual([info.id]);
    expect((await client.getTask(info.id))?.state).toBe('active');

    const worker = tq.worker({ leaseDuration: '500ms' });
    const runs: Task[] = [];
    worker.handle('job', (task) => {
      runs.push(task);
      return 'second run';
    });
    await worker.start();
    const done = await waitForTaskState(client, info.id, 'completed', 5_000);
    expect(runs.map((r) => r.retried)).toEqual([1]);
    expect(done).toMatchObject({ retried: 1, result: 'second run' });
    expect(done.lastError).toMatch(/^lease expired/);

    // The dead worker wakes up and acknowledges: its lease is gone, so nothing is written.
    const lost = await dead.worker.complete(
      'default',
      [{ id: info.id, leaseScore: deadScore, retainUntilMs: 0, message: '', resultJson: '"stale"' }],
      Date.now(),
    );
    expect(lost).toEqual([info.id]);
    expect(await client.getTask(info.id)).toMatchObject({ state: 'completed', result: 'second run' });
  });

  it('graceful shutdown: waits shutdownTimeout, aborts with ShutdownError, gives the task back to the head', async () => {
    const client = tq.client();
    const worker = tq.worker({ concurrency: 2, shutdownTimeout: '300ms' });
    const active = new Set<string>();
    const longReason = deferred<unknown>();
    let lateResolve = (): void => undefined;
    worker.on('active', (task) => active.add(task.id));
    worker.handle('long', (task) => {
      return new Promise((resolve) => {
        lateResolve = () => resolve('late');
        task.signal.addEventListener('abort', () => longReason.resolve(task.signal.reason));
      });
    });
    worker.handle('short', async () => {
      await new Promise((r) => setTimeout(r, 100));
      return 'short done';
    });
    worker.handle('filler', () => undefined);
    await worker.start();
    const long = await client.enqueue('long', {});
    const short = await client.enqueue('short', {}, { retention: '1h' });
    await waitFor(() => active.has(long.id) && active.has(short.id), 'both tasks running');
    const fillers = await client.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ type: 'filler', payload: { i } })));

    const t0 = Date.now();
    await worker.shutdown();
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(300 + 700);

    expect(await longReason.promise).toBeInstanceOf(ShutdownError);
    // Back at the head: the long task runs first again, then the fillers in their order.
    expect(await tq.probe.pendingIds('default')).toEqual([long.id, ...fillers.map((f) => f.id)]);
    expect(await tq.probe.score('default', 'lease', long.id)).toBeUndefined();
    expect(await tq.probe.count('default', 'active')).toBe(0);
    expect(await client.getTask(long.id)).toMatchObject({ state: 'pending', retried: 0 });
    expect(await client.getTask(short.id)).toMatchObject({ state: 'completed', result: 'short done' });
    // A handler that resolves after shutdown writes nothing.
    lateResolve();
    await new Promise((r) => setTimeout(r, 50));
    expect((await client.getTask(long.id))?.state).toBe('pending');
  });
});
