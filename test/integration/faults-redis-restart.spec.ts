import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TaskClient, TaskWorker } from '../../lib/core/index.js';
import { uniquePrefix } from '../helpers/redis.js';
import { startPrivateRedis, type PrivateRedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Redis restarted under a running worker: a private redis-server with appendonly (fsync always) is SIGKILLed mid-run
 * and started again on the same port and data directory. The worker reconnects on its own and every task enqueued
 * before the restart is processed.
 */
describe('Redis restarted while a worker runs', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('the worker reconnects by itself and processes every task enqueued before the restart', async () => {
    const consoleError = vi.spyOn(console, 'error');
    cleanup.push(async () => consoleError.mockRestore());
    const server: PrivateRedisServer = await startPrivateRedis({ appendonly: true });
    cleanup.push(() => server.stop());
    const prefix = uniquePrefix('restart');
    const client = new TaskClient({ connection: server.url, prefix });
    cleanup.push(() => client.close());
    const worker = new TaskWorker({ connection: server.url, prefix, concurrency: 10, leaseDuration: '2s' });
    cleanup.push(() => worker.shutdown());

    const statuses: { status: string; at: number }[] = [];
    worker.on('status', (status) => statuses.push({ status, at: Date.now() }));
    const errors: string[] = [];
    worker.on('error', (e) => errors.push(e.message));
    const runs = new Map<string, number>();
    const retriedRuns: string[] = [];
    worker.handle('job', async (task) => {
      await new Promise((r) => setTimeout(r, 2 + Math.random() * 4));
      runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
      if (task.retried > 0) retriedRuns.push(task.id);
    });

    const total = 300;
    const ids = (
      await client.enqueueMany(Array.from({ length: total }, (_, i) => ({ type: 'job', payload: { i } })))
    ).map((t) => t.id);
    await worker.start();
    await waitFor(() => runs.size >= 50, '50 tasks processed before the kill', 10_000, 1);
    await server.kill();
    const killedAt = Date.now();
    const processedAtKill = runs.size;
    // An enqueue while Redis is down waits for the reconnect instead of failing.
    const duringOutage = client.enqueue('job', { duringOutage: true });
    await new Promise((r) => setTimeout(r, 500));
    await server.start();
    const restartedAt = Date.now();
    ids.push((await duringOutage).id);

    await waitFor(() => ids.every((id) => runs.has(id)), 'every task to be processed after the restart', 15_000);
    const drainedIn = Date.now() - restartedAt;
    // Nothing left behind in Redis.
    const admin = new Redis(server.url);
    cleanup.push(async () => admin.disconnect());
    await waitFor(
      async () =>
        (await admin.scard(`${prefix}:{default}:active`)) === 0 &&
        (await admin.zcard(`${prefix}:{default}:lease`)) === 0 &&
        (await admin.llen(`${prefix}:{default}:pending`)) === 0 &&
        (await admin.hlen(`${prefix}:{default}:t`)) === 0,
      'queue drained (no active, lease, pending or task record left)',
      6000,
    );

    const afterKill = statuses.filter((s) => s.at >= killedAt).map((s) => s.status);
    const reconnecting = afterKill.indexOf('reconnecting');
    expect(reconnecting, `statuses after the kill: ${afterKill.join(', ')}`).toBeGreaterThanOrEqual(0);
    expect(afterKill.indexOf('connected', reconnecting)).toBeGreaterThan(reconnecting);
    expect(worker.running).toBe(true);
    // No connection the library owns is left without an 'error' listener (ioredis would print "Unhandled error event").
    const unhandled = consoleError.mock.calls.filter((args) => String(args[0]).includes('Unhandled error event'));
    expect(unhandled.map((a) => String(a[0]) + String(a[1] ?? ''))).toEqual([]);

    const duplicates = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
    console.info(
      `Redis restart: ${processedAtKill} processed before the kill, ${runs.size} distinct after, ` +
        `${duplicates.length} run twice, ${retriedRuns.length} ran with retried > 0, all processed ${drainedIn} ms after the restart; worker errors: ${errors.length} (${[...new Set(errors)].slice(0, 3).join(' | ')})`,
    );
    expect(runs.size).toBe(total + 1);
    // Acknowledged writes survive (appendfsync always): a task runs twice only when its acknowledgement was cut by the
    // kill, i.e. at most the tasks in flight then (concurrency 10).
    expect(duplicates.length).toBeLessThanOrEqual(10);
    // A dequeue or acknowledgement whose reply the kill cut is resent by ioredis after the reconnect. A dequeue that
    // had executed leaves its tasks leased by nobody: they run after the lease expires (2s) plus one recovery round
    // (1s), with retried + 1. So everything is processed within lease + recovery interval + margin of the restart.
    expect(drainedIn).toBeLessThan(2000 + 1000 + 3000);

    // And the worker still works after the restart.
    const after = await client.enqueue('job', { after: true });
    await waitFor(() => runs.has(after.id), 'a task enqueued after the restart');
  });

  it('shutdown while Redis is down resolves promptly (an idle worker does not wait for Redis to come back)', async () => {
    const server = await startPrivateRedis();
    cleanup.push(() => server.stop());
    const prefix = uniquePrefix('outage');
    const worker = new TaskWorker({ connection: server.url, prefix, leaseDuration: '2s' });
    worker.on('error', () => undefined);
    worker.handle('job', () => undefined);
    const reconnecting = new Promise<void>((resolve) => worker.on('status', (s) => s === 'reconnecting' && resolve()));
    await worker.start();
    // Idle: the fetch loop is blocked in BZPOPMIN on the wake connection (not in a dequeue, see the next test).
    const admin = new Redis(server.url);
    await waitFor(
      async () => /name=taskq:worker:wake:0 .*cmd=bzpopmin/.test((await admin.client('LIST')) as string),
      'the worker to block on its wake markers',
    );
    admin.disconnect();
    await server.kill();
    await reconnecting;
    // Let the wake connection see the close too and start reconnecting (its BZPOPMIN is then queued for a resend).
    await waitFor(
      () =>
        (worker as unknown as { parts: { wake: { groups: { client: Redis }[] } } }).parts.wake.groups[0].client
          .status !== 'ready',
      'wake connection down',
    );
    const t0 = Date.now();
    const done = worker.shutdown().then(() => Date.now() - t0);
    const elapsed = await Promise.race([
      done,
      new Promise<string>((r) => setTimeout(() => r('still waiting after 3s'), 3000)),
    ]);
    expect(elapsed).toBeTypeOf('number');
    expect(elapsed as number).toBeLessThan(1000);
    expect(worker.running).toBe(false);
  });

  // Connections use maxRetriesPerRequest: null, so the final requeue (or a dequeue/acknowledgement in flight) waits in
  // ioredis' offline queue until Redis returns: shutdown bounds those waits and leaves the tasks to the recoverer.
  it('shutdown while Redis is down with a task in flight resolves within shutdownTimeout + grace', async () => {
    const server = await startPrivateRedis();
    cleanup.push(() => server.stop());
    const prefix = uniquePrefix('outage');
    const client = new TaskClient({ connection: server.url, prefix });
    cleanup.push(() => client.close());
    const worker = new TaskWorker({ connection: server.url, prefix, leaseDuration: '2s', shutdownTimeout: '300ms' });
    worker.on('error', () => undefined);
    const started = new Promise<void>((resolve) =>
      worker.handle('long', (task) => {
        resolve();
        return new Promise((r) => task.signal.addEventListener('abort', r));
      }),
    );
    const reconnecting = new Promise<void>((resolve) => worker.on('status', (s) => s === 'reconnecting' && resolve()));
    // If shutdown() ever hangs again, stop the worker's connections from reconnecting forever.
    cleanup.push(async () => {
      const w = worker as unknown as {
        redis: Redis;
        broker: { notify: { subscriber?: Redis } };
        parts?: { wake: { groups: { client: Redis }[] } };
      };
      for (const c of [w.redis, w.broker.notify.subscriber, ...(w.parts?.wake.groups.map((g) => g.client) ?? [])])
        c?.disconnect();
    });
    await worker.start();
    await client.enqueue('long', {});
    await started;
    await server.kill();
    await reconnecting;
    const t0 = Date.now();
    const done = worker.shutdown().then(() => Date.now() - t0);
    const elapsed = await Promise.race([
      done,
      new Promise<string>((r) => setTimeout(() => r('still waiting after 3s'), 3000)),
    ]);
    expect(elapsed).toBeTypeOf('number');
    expect(elapsed as number).toBeLessThan(300 + 1500);
  });
});
