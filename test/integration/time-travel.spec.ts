import { describe, expect, it } from 'vitest';
import { SimulatedClock, type Task } from '../../lib/core/index.js';
import { settleStore } from '../../lib/testing/settle.js';
import { advanceClock } from '../../lib/testing/time-travel.js';
import { backends, useTaskq } from '../helpers/taskq.js';
import { deferred, waitFor, waitForTaskState } from '../helpers/wait.js';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

/**
 * Time moves instead of being waited for: every timer of the engine follows a SimulatedClock, so moving it makes a
 * delayed task due, a retry come back, a periodic entry fire, and heartbeats keep a running task's lease.
 */
describe.each(backends)('time travel with a SimulatedClock (%s)', (backend) => {
  const tq = useTaskq('time', backend);

  /**
   * Moves the clock timer by timer; between timers the engine settles: in memory until the store is quiet, on Redis for
   * 10 ms of round trips (ample on this machine; a heartbeat two intervals late would be needed to lose a lease).
   */
  const advance = (clock: SimulatedClock, ms: number): Promise<void> =>
    advanceClock(clock, ms, () =>
      backend === 'memory' ? settleStore(tq.store, clock) : new Promise((r) => setTimeout(r, 10)),
    );

  it('a delayed task runs once the clock reaches its time, not before', async () => {
    const clock = new SimulatedClock(T0);
    const client = tq.client({ clock });
    const worker = tq.worker({ clock });
    const ran: number[] = [];
    worker.handle('later', () => void ran.push(clock.now()));
    await worker.start();
    const info = await client.enqueue('later', null, { processIn: '10m' });
    await advance(clock, 9 * 60_000 + 59_000);
    expect(ran).toEqual([]);
    expect((await client.getTask(info.id))?.state).toBe('scheduled');
    await advance(clock, 1_000);
    await waitFor(() => ran.length === 1, 'the delayed task to run');
    expect(ran[0]).toBe(T0 + 600_000);
  });

  it('a retry comes back after its delay', async () => {
    const clock = new SimulatedClock(T0);
    const client = tq.client({ clock });
    const worker = tq.worker({ clock, retryDelay: () => '5m' });
    const attempts: number[] = [];
    worker.handle('flaky', (task: Task) => {
      attempts.push(clock.now());
      if (task.retried === 0) throw new Error('first attempt fails');
      return 'ok';
    });
    await worker.start();
    const info = await client.enqueue('flaky', null, { retention: '1h' });
    await waitFor(() => attempts.length === 1, 'the first attempt');
    await waitForTaskState(client, info.id, 'retry');
    await advance(clock, 4 * 60_000);
    expect(attempts).toHaveLength(1);
    await advance(clock, 60_000);
    const done = await waitForTaskState(client, info.id, 'completed');
    expect(done).toMatchObject({ retried: 1, result: 'ok' });
    expect(attempts[1] - attempts[0]).toBe(300_000);
  });

  it('a periodic entry fires once per tick as the clock moves', async () => {
    const clock = new SimulatedClock(T0 + 30_000);
    const scheduler = tq.scheduler({ clock });
    const worker = tq.worker({ clock });
    const fired: string[] = [];
    worker.handle('tick', (task) => void fired.push(task.headers['taskq-fire-time']));
    await worker.start();
    await scheduler.register('@every 1m', 'tick', null, { id: 'tick' });
    await scheduler.start();
    await advance(clock, 3 * 60_000);
    await waitFor(() => fired.length === 3, 'three ticks to run');
    expect(fired).toEqual(['12:01', '12:02', '12:03'].map((hm) => `2030-01-01T${hm}:00.000Z`));
  });

  it('heartbeats keep a running task’s lease for as long as it runs: nobody recovers it', async () => {
    const clock = new SimulatedClock(T0);
    const client = tq.client({ clock });
    const release = deferred();
    const runs: string[] = [];
    const busy = tq.worker({ clock, leaseDuration: '30s' });
    busy.handle('long', async (task) => {
      runs.push(task.id);
      await release.promise;
      return 'done';
    });
    // A second worker on the same queue recovers expired leases every 5 s of the clock.
    const other = tq.worker({ clock, leaseDuration: '30s' });
    other.handle('long', (task) => void runs.push(`other ${task.id}`));
    await busy.start();
    const info = await client.enqueue('long', null, { retention: '1h' });
    await waitFor(() => runs.length === 1, 'the task to start');
    await other.start();
    await advance(clock, 10 * 60_000);
    expect(runs).toEqual([info.id]);
    const running = await client.getTask(info.id);
    expect(running).toMatchObject({ state: 'active', retried: 0 });
    release.resolve();
    expect(await waitForTaskState(client, info.id, 'completed')).toMatchObject({ retried: 0, result: 'done' });
  });
});
