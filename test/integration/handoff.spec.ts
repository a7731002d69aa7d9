import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../lib/core/broker/codec.js';
import { handoffMember } from '../../lib/core/broker/redis/handoff.js';
import { RedisBroker } from '../../lib/core/broker/redis/redis-broker.js';
import { observeScriptCalls, type ScriptName } from '../../lib/core/broker/redis/scripts.js';
import { systemClock } from '../../lib/core/clock.js';
import { TaskInspector, type Task, type TaskWorker } from '../../lib/core/index.js';
import { Redis } from 'ioredis';
import { testRedisUrl } from '../helpers/redis.js';
import { useTaskq } from '../helpers/taskq.js';
import { deferred, waitFor } from '../helpers/wait.js';

/**
 * One-hop pickup: an enqueue into an empty queue leases the task to a registered idle worker and puts the task in the
 * wake set, so the worker's BZPOPMIN starts it. Every path a hand-off can take: popped, taken over by a dequeue,
 * recovered unpopped, canceled, given back, adopted, and shutdown.
 */
describe('hand-offs to idle workers', () => {
  const tq = useTaskq('handoff');
  afterEach(() => observeScriptCalls(undefined));

  const message = (type = 't', payload: unknown = 1): string =>
    encodeMessage({
      type,
      payload,
      readyAt: Date.now(),
      maxRetry: 25,
      retried: 0,
      timeoutMs: 1_800_000,
      retentionMs: 0,
      headers: {},
    });

  /** Resolves once `worker` is registered as idle on `queue` (it blocks on the wake key). */
  const idle = (worker: TaskWorker, queue = 'default') =>
    waitFor(
      async () => (await tq.admin.zscore(tq.key(queue, 'idle'), `${worker.options.leaseMs}:${worker.id}`)) !== null,
      'the worker to register as idle',
    );

  /** A registration of a worker that is not there (it died while idle). */
  const ghost = (leaseMs = 30_000, expiresIn = 30_000, name = 'ghost') =>
    tq.admin.zadd(tq.key('default', 'idle'), String(Date.now() + expiresIn), `${leaseMs}:${name}`);

  const wakeMembers = () => tq.admin.zrange(tq.key('default', 'wake'), '0', '-1');

  /** A started worker whose handler of type `t` holds every task until `release` resolves. */
  const holdingWorker = async (options: Parameters<typeof tq.worker>[0] = {}) => {
    const worker = tq.worker(options);
    const release = deferred();
    const started = deferred<Task>();
    worker.handle('t', async (task) => {
      started.resolve(task);
      await release.promise;
    });
    await worker.start();
    await idle(worker);
    return { worker, started, release };
  };

  /** What an enqueue leaves for an idle worker, written by hand with the lease `score`. */
  const writeHandoff = async (id: string, score: string) => {
    const m = message();
    await tq.admin.hset(tq.key('default', 't'), id, m);
    await tq.admin.zadd(tq.key('default', 'lease'), score, id);
    await tq.admin.sadd(tq.key('default', 'active'), id);
    await tq.admin.zadd(tq.key('default', 'wake'), 0, handoffMember({ id, leaseScore: score, message: m }));
  };

  it('an idle worker gets the task from the enqueue itself: its handler starts with no dequeue in between', async () => {
    const client = tq.client();
    const worker = tq.worker();
    const calls: ScriptName[] = [];
    const started = deferred<{ calls: ScriptName[]; task: Task }>();
    worker.handle('t', (task) => started.resolve({ calls: [...calls], task }));
    await worker.start();
    await idle(worker);
    observeScriptCalls((name) => calls.push(name));
    const info = await client.enqueue('t', { n: 1 });
    const { calls: before, task } = await started.promise;
    expect(task.id).toBe(info.id);
    expect(before).toEqual(['enqueue']);
    expect(task.payload).toEqual({ n: 1 });
    await waitFor(async () => (await tq.admin.hlen(tq.key('default', 't'))) === 0, 'the task completed and deleted');
  });

  it('hands one task per registration; the rest of the batch goes to pending with a wake marker', async () => {
    const client = tq.client();
    await ghost(30_000, 30_000, 'a');
    await ghost(5_000, 30_000, 'b');
    await ghost(30_000, -1_000, 'expired');
    const before = Date.now();
    const tasks = await client.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ type: 't', payload: { i } })));
    const after = Date.now();
    // The earliest-expiring registrations first: 'b' (5 s lease) and 'a'; the expired one is skipped.
    const leases = await tq.admin.zrange(tq.key('default', 'lease'), '0', '-1', 'WITHSCORES');
    expect(leases.filter((_, i) => i % 2 === 0).sort()).toEqual([tasks[0].id, tasks[1].id].sort());
    for (let i = 1; i < leases.length; i += 2) expect(Number.isInteger(Number(leases[i]))).toBe(true);
    const leaseOf = (id: string) => Number(leases[leases.indexOf(id) + 1]);
    const spans = [leaseOf(tasks[0].id), leaseOf(tasks[1].id)].map((s) => s - before).sort((x, y) => x - y);
    expect(spans[0]).toBeGreaterThanOrEqual(5_000);
    expect(spans[0]).toBeLessThanOrEqual(5_000 + after - before);
    expect(spans[1]).toBeGreaterThanOrEqual(30_000);
    expect(await tq.admin.smembers(tq.key('default', 'active'))).toEqual(
      expect.arrayContaining([tasks[0].id, tasks[1].id]),
    );
    const wake = await wakeMembers();
    expect(wake).toContain('p');
    expect(wake.filter((m) => m.startsWith('h'))).toHaveLength(2);
    expect(await tq.admin.lrange(tq.key('default', 'pending'), '0', '-1')).toEqual([
      tasks[4].id,
      tasks[3].id,
      tasks[2].id,
    ]);
    // Registrations stay: a worker leaves once it stops being idle.
    expect(await tq.admin.zcard(tq.key('default', 'idle'))).toBe(3);
    const first = await client.getTask(tasks[0].id, 'default');
    expect(first?.state).toBe('active');
  });

  it('hands nothing off while the queue is paused or has pending tasks', async () => {
    const client = tq.client();
    const inspector = new TaskInspector({ connection: testRedisUrl(), prefix: tq.prefix });
    try {
      await ghost();
      await inspector.pauseQueue('default');
      const paused = await client.enqueue('t', {});
      expect(await tq.admin.lrange(tq.key('default', 'pending'), '0', '-1')).toEqual([paused.id]);
      await inspector.unpauseQueue('default');
      // Pending is not empty now: a hand-off would overtake it.
      const second = await client.enqueue('t', {});
      expect(await tq.admin.lrange(tq.key('default', 'pending'), '0', '-1')).toEqual([second.id, paused.id]);
      expect(await tq.admin.zcard(tq.key('default', 'lease'))).toBe(0);
      expect(await tq.admin.zrange(tq.key('default', 'idle'), '0', '-1')).toEqual(['30000:ghost']);
    } finally {
      await inspector.close();
    }
  });

  it('a hand-off no worker popped is taken over by the next dequeue under its own lease, and runs once', async () => {
    const client = tq.client();
    await ghost();
    const info = await client.enqueue('t', { n: 7 });
    expect((await wakeMembers()).some((m) => m.startsWith('h'))).toBe(true);
    const worker = tq.worker();
    const runs: { id: string; lease: string | null }[] = [];
    const done = deferred();
    worker.handle('t', async (task) => {
      runs.push({ id: task.id, lease: await tq.admin.zscore(tq.key('default', 'lease'), task.id) });
      done.resolve();
    });
    await worker.start();
    await done.promise;
    await idle(worker);
    expect(runs).toHaveLength(1);
    expect(runs[0].id).toBe(info.id);
    // The worker's first fetch took it over: the lease carries the worker's tag fraction.
    expect(Number.isInteger(Number(runs[0].lease))).toBe(false);
    expect(await wakeMembers()).toEqual([]);
  });

  it('an unpopped hand-off whose lease expired goes back to pending untouched (no attempt counted)', async () => {
    const client = tq.client();
    await ghost(50);
    const info = await client.enqueue('t', { n: 1 }, { maxRetry: 0 });
    await new Promise((r) => setTimeout(r, 80));
    // maxRetry 0: were this counted as a failed attempt, the task would be archived.
    const worker = tq.worker();
    const ran = deferred<Task>();
    worker.handle('t', (task) => ran.resolve(task));
    await worker.start(); // the first recovery round runs before the first fetch
    const task = await ran.promise;
    expect(task.id).toBe(info.id);
    expect(task.retried).toBe(0);
    expect(await wakeMembers()).not.toContainEqual(expect.stringMatching(/^h/));
    expect(await tq.admin.get(tq.key('default', 'failed'))).toBeNull();
  });

  it('a hand-off popped by a worker that then died is recovered as an attempt (retried + 1)', async () => {
    const admin = tq.admin;
    const expired = String(Date.now() - 1_000);
    await admin.hset(tq.key('default', 't'), 'popped', message());
    await admin.zadd(tq.key('default', 'lease'), expired, 'popped');
    await admin.sadd(tq.key('default', 'active'), 'popped');
    const worker = tq.worker();
    const ran = deferred<Task>();
    worker.handle('t', (task) => ran.resolve(task));
    await worker.start();
    const task = await ran.promise;
    expect(task.id).toBe('popped');
    expect(task.retried).toBe(1);
  });

  it('cancel removes a hand-off no worker popped, like a waiting task', async () => {
    const client = tq.client();
    await ghost();
    const info = await client.enqueue('t', {}, { unique: '1h' });
    expect(await client.cancel(info.id, 'default')).toBe(true);
    expect(await client.getTask(info.id, 'default')).toBeNull();
    expect(await wakeMembers()).toEqual([]);
    expect(await tq.admin.zcard(tq.key('default', 'lease'))).toBe(0);
    expect(await tq.admin.scard(tq.key('default', 'active'))).toBe(0);
    // The unique lock was released with it.
    await client.enqueue('t', {}, { unique: '1h' });
  });

  it('a popped hand-off with its lease nearly over is given back and runs from pending', async () => {
    const worker = tq.worker();
    const calls: ScriptName[] = [];
    const ran = deferred<{ task: Task; lease: string | null }>();
    worker.handle('t', async (task) =>
      ran.resolve({ task, lease: await tq.admin.zscore(tq.key('default', 'lease'), task.id) }),
    );
    await worker.start();
    await idle(worker);
    observeScriptCalls((name) => calls.push(name));
    await writeHandoff('late', String(Date.now() + 300));
    const { task, lease } = await ran.promise;
    expect(task.id).toBe('late');
    expect(task.retried).toBe(0);
    // Given back first (fenced on the hand-off lease), then claimed again by a dequeue, under the worker's own lease.
    expect(calls[0]).toBe('requeue');
    expect(calls.indexOf('dequeue')).toBeGreaterThan(0);
    expect(Number.isInteger(Number(lease))).toBe(false);
  });

  it('a popped hand-off with less than half a lease left gets the worker’s own lease at once', async () => {
    const { started, release } = await holdingWorker({ leaseDuration: '30s' });
    const score = String(Date.now() + 5_000);
    await writeHandoff('waited', score);
    await started.promise;
    const adopted = await waitFor(async () => {
      const s = await tq.admin.zscore(tq.key('default', 'lease'), 'waited');
      return s !== null && s !== score ? Number(s) : undefined;
    }, 'the lease to move to the worker');
    expect(Number.isInteger(adopted)).toBe(false);
    expect(adopted - Date.now()).toBeGreaterThan(25_000);
    release.resolve();
  });

  it('a worker registers only while it blocks: woken by a `p` marker, it leaves its registration', async () => {
    const client = tq.client();
    const { started, release } = await holdingWorker({ concurrency: 1 });
    // A task reaching pending the other way (forwarded, recovered, given back) comes with a `p` marker, no hand-off.
    await tq.admin.hset(tq.key('default', 't'), 'by-hand', message());
    await tq.admin.lpush(tq.key('default', 'pending'), 'by-hand');
    await tq.admin.zadd(tq.key('default', 'wake'), 0, 'p');
    expect((await started.promise).id).toBe('by-hand');
    // Busy at concurrency 1, it is no longer registered: the next task waits in pending, not in the wake set.
    await waitFor(async () => (await tq.admin.zcard(tq.key('default', 'idle'))) === 0, 'the registration to be left');
    const next = await client.enqueue('t', {});
    expect(await tq.admin.lrange(tq.key('default', 'pending'), '0', '-1')).toEqual([next.id]);
    expect(await wakeMembers()).toEqual(['p']);
    release.resolve();
  });

  it('a worker handed one task after another stays registered and sends one BZPOPMIN per task, nothing else', async () => {
    const client = tq.client();
    const worker = tq.worker();
    const member = `${worker.options.leaseMs}:${worker.id}`;
    let count = 0;
    worker.handle('t', () => {
      count++;
    });
    await worker.start();
    await idle(worker);
    const registered = await tq.admin.zscore(tq.key('default', 'idle'), member);
    const calls: ScriptName[] = [];
    observeScriptCalls((name) => calls.push(name));
    for (let i = 0; i < 20; i++) {
      await client.enqueue('t', { i });
      await waitFor(() => count === i + 1, `task ${i} to run`);
    }
    // Never re-registered (same expiry), never fetched: 20 enqueues, 20 completions, no dequeue.
    expect(await tq.admin.zscore(tq.key('default', 'idle'), member)).toBe(registered);
    expect(calls.filter((c) => c === 'dequeue')).toEqual([]);
    expect(calls.filter((c) => c === 'enqueue')).toHaveLength(20);
  });

  it('a worker out of slots after a hand-off leaves its registration; the next task waits in pending', async () => {
    const client = tq.client();
    const { worker, started, release } = await holdingWorker({ concurrency: 1 });
    await client.enqueue('t', {});
    await started.promise;
    await waitFor(async () => (await tq.admin.zcard(tq.key('default', 'idle'))) === 0, 'the registration to be left');
    const next = await client.enqueue('t', {});
    expect(await tq.admin.lrange(tq.key('default', 'pending'), '0', '-1')).toEqual([next.id]);
    release.resolve();
    // Free again, it fetches the waiting task and goes back to idle, registered.
    await waitFor(async () => (await tq.admin.hlen(tq.key('default', 't'))) === 0, 'both tasks done');
    await idle(worker);
  });

  it('shutting down idle workers while tasks arrive loses no hand-off and leaves no registration or wake key behind', async () => {
    const client = tq.client();
    const ids: string[] = [];
    for (let round = 0; round < 15; round++) {
      const worker = tq.worker({ shutdownTimeout: '2s' });
      worker.handle('t', () => new Promise((r) => setTimeout(r, 5)));
      await worker.start();
      await idle(worker);
      // The enqueue and the shutdown race: the task is handed off, popped, given back, or left in pending.
      const [info] = await Promise.all([client.enqueue('t', { round }), worker.shutdown()]);
      ids.push(info.id);
    }
    expect(await tq.admin.zcard(tq.key('default', 'idle'))).toBe(0);
    expect(await tq.admin.keys(`${tq.prefix}:{default}:wake:*`)).toEqual([]);
    // A last worker finishes whatever is left at once: nothing waits for a lease to expire (30 s).
    const seen = new Map<string, number>();
    const last = tq.worker();
    last.handle('t', (task) => {
      seen.set(task.id, (seen.get(task.id) ?? 0) + 1);
    });
    await last.start();
    await waitFor(async () => (await tq.admin.hlen(tq.key('default', 't'))) === 0, 'every task to complete', 5_000);
    for (const [, n] of seen) expect(n).toBe(1);
    expect(await tq.admin.get(tq.key('default', 'failed'))).toBeNull();
    expect(Number(await tq.admin.get(tq.key('default', 'processed')))).toBe(ids.length);
  });

  it('shutdown of an idle worker removes its registration', async () => {
    const worker = tq.worker();
    await worker.start();
    await idle(worker);
    await worker.shutdown();
    expect(await tq.admin.zcard(tq.key('default', 'idle'))).toBe(0);
  });

  it('a hand-off popped the instant the waker closes still reaches the worker', async () => {
    const redis = new Redis(testRedisUrl());
    const broker = new RedisBroker(redis, tq.prefix);
    const handed: string[] = [];
    const waker = broker.worker.openWakeSource(['default'], {
      workerId: 'w1',
      leaseMs: 30_000,
      clock: systemClock,
      onHandoff: (_queue, h) => {
        handed.push(h.id);
        return false;
      },
      onError: () => undefined,
    });
    try {
      const woke = waker.wait(30_000);
      await waitFor(async () => (await tq.admin.zcard(tq.key('default', 'idle'))) === 1, 'the waker to register');
      const score = String(Date.now() + 30_000);
      // Written and closed in the same tick: the BZPOPMIN reply is still on its way when close() begins.
      void tq.admin.zadd(
        tq.key('default', 'wake'),
        0,
        handoffMember({ id: 'in-flight', leaseScore: score, message: message() }),
      );
      await waker.close(1_000);
      expect(await woke).toBeUndefined();
      expect(handed).toEqual(['in-flight']);
      expect(await tq.admin.exists(tq.key('default', 'wake:w1'))).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});
