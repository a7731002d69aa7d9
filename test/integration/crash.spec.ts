import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LeaseLostError, ShutdownError, type TaskInfo } from '../../lib/core/index.js';
import { testRedisUrl } from '../helpers/redis.js';
import { useTaskq } from '../helpers/taskq.js';
import { deferred, waitFor, waitForTaskState } from '../helpers/wait.js';

const WORKER_CHILD = fileURLToPath(new URL('../helpers/children/worker-child.mjs', import.meta.url));

interface WorkerChild {
  child: ChildProcess;
  ready: Promise<void>;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnWorker(env: Record<string, string>): WorkerChild {
  const child = spawn(process.execPath, [WORKER_CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`worker child exited before ready (${code ?? signal})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.includes('"ready"')) resolve();
    });
  });
  ready.catch(() => undefined);
  return { child, ready, lines, exited };
}

/**
 * Crash safety: leases, fencing, orphans, graceful shutdown. The SIGKILL test runs a real worker in a child process.
 */
describe('crash safety', () => {
  const tq = useTaskq('crash');

  const waitState = (client: ReturnType<typeof tq.client>, id: string, state: TaskInfo['state'], timeoutMs = 5000) =>
    waitForTaskState(client, id, state, timeoutMs);

  it('a worker killed with SIGKILL mid-run: another worker runs its tasks again within lease + 2s; all 200 complete', async () => {
    const client = tq.client();
    const doneKey = `${tq.prefix}:test:done`;
    const total = 200;
    const ids = (
      await client.enqueueMany(
        Array.from({ length: total }, (_, i) => ({ type: 'job', payload: { i }, options: { retention: '1h' } })),
      )
    ).map((t) => t.id);
    const child = spawnWorker({
      REDIS_URL: testRedisUrl(),
      TASKQ_PREFIX: tq.prefix,
      TASKQ_DONE_KEY: doneKey,
      TASKQ_CONCURRENCY: '10',
      TASKQ_LEASE: '2s',
      TASKQ_MIN_MS: '20',
      TASKQ_MAX_MS: '50',
    });
    try {
      await child.ready;
      await waitFor(async () => (await tq.admin.llen(doneKey)) >= 30, 'the child to complete 30 tasks', 10_000, 2);
      child.child.kill('SIGKILL');
      const exit = await child.exited;
      const killedAt = Date.now();
      expect(exit.signal).toBe('SIGKILL');

      const inFlight = await tq.admin.smembers(tq.key('default', 'active'));
      const doneByChild = await tq.admin.lrange(doneKey, 0, -1);
      expect(doneByChild.length).toBeGreaterThanOrEqual(30);
      expect(doneByChild.length).toBeLessThan(total);
      expect(inFlight.length).toBeGreaterThan(0);

      // The peer: another worker, started after the kill (as a restarted or scaled-out process would be).
      const peer = tq.worker({ concurrency: 10, leaseDuration: '2s' });
      const peerDone = new Map<string, number>();
      const peerRuns: Record<string, number> = {};
      peer.handle('job', async (task) => {
        await new Promise((r) => setTimeout(r, 2));
        peerRuns[task.id] = (peerRuns[task.id] ?? 0) + 1;
        peerDone.set(task.id, Date.now());
        return 'peer';
      });
      await peer.start();
      await waitFor(
        () => inFlight.every((id) => peerDone.has(id)),
        'the killed worker’s in-flight tasks to run again',
        8000,
      );
      const recoveredAfter = Math.max(...inFlight.map((id) => peerDone.get(id)!)) - killedAt;
      expect(recoveredAfter).toBeLessThanOrEqual(2000 + 2000);

      // Every task completes: distinct ids across both processes.
      await waitFor(
        async () => (await tq.admin.zcard(tq.key('default', 'completed'))) === total,
        'all 200 tasks completed',
        8000,
      );
      const distinct = new Set([...doneByChild, ...peerDone.keys()]);
      expect(distinct.size).toBe(total);
      expect([...distinct].sort()).toEqual([...ids].sort());
      // Only tasks in flight at the kill may have run twice (handler done, acknowledgement not yet written).
      const twice = doneByChild.filter((id) => peerDone.has(id));
      for (const id of twice) expect(inFlight).toContain(id);
      expect(Object.values(peerRuns).every((n) => n === 1)).toBe(true);
      // The recovered tasks carry the recovery as a counted failure.
      for (const id of inFlight) {
        const info = await client.getTask(id, 'default');
        expect(info?.state).toBe('completed');
        expect(info?.retried).toBe(1);
        expect(info?.lastError).toMatch(/^lease expired/);
      }
      expect(await tq.admin.scard(tq.key('default', 'active'))).toBe(0);
      expect(await tq.admin.zcard(tq.key('default', 'lease'))).toBe(0);
      expect(await tq.admin.llen(tq.key('default', 'pending'))).toBe(0);
      console.info(
        `SIGKILL test: child completed ${doneByChild.length}, in flight at kill ${inFlight.length} ` +
          `(handler done but unacknowledged: ${twice.length}), recovered within ${recoveredAfter} ms of the kill`,
      );
    } finally {
      if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    }
  });

  describe('fencing: a worker whose lease was taken over writes nothing', () => {
    it('complete, retry and archive are all skipped when the lease score changed', async () => {
      const client = tq.client();
      const worker = tq.worker({ retryDelay: () => 10 });
      const errors: Error[] = [];
      worker.on('error', (e) => errors.push(e));
      const release = deferred();
      const started = new Set<string>();
      const handler = (outcome: 'ok' | 'fail') => async (task: { id: string }) => {
        started.add(task.id);
        await release.promise;
        if (outcome === 'fail') throw new Error('failed after losing the lease');
        return 'result';
      };
      worker.handle('ok', handler('ok'));
      worker.handle('fail', handler('fail'));
      await worker.start();
      const a = await client.enqueue('ok', {}, { retention: '1h' });
      const b = await client.enqueue('fail', {}, { maxRetry: 3 });
      const c = await client.enqueue('fail', {}, { maxRetry: 0 });
      await waitFor(() => started.size === 3, 'three tasks running');
      const lease = tq.key('default', 'lease');
      const t = tq.key('default', 't');
      const before: Record<string, string | null> = {};
      // Another owner takes the leases over (as a recoverer + a second worker would).
      const otherScore = String(Date.now() + 600_000 + 0.5);
      for (const id of [a.id, b.id, c.id]) {
        before[id] = await tq.admin.hget(t, id);
        await tq.admin.zadd(lease, otherScore, id);
      }
      release.resolve();
      await waitFor(
        () => errors.filter((e) => /no longer held by this worker when acknowledged/.test(e.message)).length >= 1,
        'lease-lost report',
      );
      // Let every acknowledgement of this worker land.
      await waitFor(() => worker.activeCount === 0, 'runs settled');
      await new Promise((r) => setTimeout(r, 50));
      const lostReported = errors
        .filter((e) => /no longer held by this worker when acknowledged/.test(e.message))
        .reduce((n, e) => n + Number(/^(\d+) task\(s\)/.exec(e.message)?.[1] ?? 0), 0);
      expect(lostReported).toBe(3);
      for (const id of [a.id, b.id, c.id]) {
        expect(await tq.admin.zscore(lease, id), id).toBe(String(Number(otherScore)));
        expect(await tq.admin.sismember(tq.key('default', 'active'), id), id).toBe(1);
        expect(await tq.admin.hget(t, id), id).toBe(before[id]);
      }
      expect(await tq.admin.zcard(tq.key('default', 'completed'))).toBe(0);
      expect(await tq.admin.zcard(tq.key('default', 'retry'))).toBe(0);
      expect(await tq.admin.zcard(tq.key('default', 'archived'))).toBe(0);
      expect(await tq.admin.get(tq.key('default', 'processed'))).toBeNull();
      expect(await tq.admin.get(tq.key('default', 'failed'))).toBeNull();
    });

    it('the heartbeat notices the takeover: the signal fires with LeaseLostError and nothing is written', async () => {
      const client = tq.client();
      const worker = tq.worker({ leaseDuration: '600ms' });
      const started = deferred<string>();
      const aborted = deferred<unknown>();
      const finish = deferred();
      worker.handle('long', async (task) => {
        task.signal.addEventListener('abort', () => aborted.resolve(task.signal.reason));
        started.resolve(task.id);
        await finish.promise;
        return 'done anyway';
      });
      await worker.start();
      const info = await client.enqueue('long', {}, { retention: '1h' });
      const id = await started.promise;
      const lease = tq.key('default', 'lease');
      const otherScore = String(Date.now() + 600_000 + 0.25);
      await tq.admin.zadd(lease, otherScore, id);
      const reason = await aborted.promise;
      expect(reason).toBeInstanceOf(LeaseLostError);
      expect((reason as LeaseLostError).code).toBe('LEASE_LOST');
      finish.resolve();
      await waitFor(() => worker.activeCount === 0, 'run settled');
      await new Promise((r) => setTimeout(r, 250));
      expect(await tq.admin.zscore(lease, id)).toBe(String(Number(otherScore)));
      const still = await client.getTask(info.id, 'default');
      expect(still?.state).toBe('active');
      expect(still?.result).toBeUndefined();
      expect(await tq.admin.zcard(tq.key('default', 'completed'))).toBe(0);
    });
  });

  describe('recoverer', () => {
    it('an active task without a lease goes back to pending (retried + 1) and runs', async () => {
      const client = tq.client();
      const worker = tq.worker();
      const runs: { id: string; retried: number }[] = [];
      worker.handle('orphan', (task) => {
        runs.push({ id: task.id, retried: task.retried });
        return 'recovered';
      });
      await worker.start();
      const now = Date.now();
      const t = tq.key('default', 't');
      await tq.admin.hset(t, 'orphan-1', JSON.stringify({ t: 'orphan', s: now, k: 3_600_000 }));
      await tq.admin.hset(t, 'orphan-2', JSON.stringify({ t: 'orphan', s: now, r: 2, n: 2 }));
      await tq.admin.sadd(tq.key('default', 'active'), 'orphan-1', 'orphan-2');
      expect(await worker.recoverNow()).toBe(2);
      await waitFor(() => runs.some((r) => r.id === 'orphan-1'), 'the orphan to run');
      expect(runs.find((r) => r.id === 'orphan-1')?.retried).toBe(1);
      const done = await waitState(client, 'orphan-1', 'completed');
      expect(done.retried).toBe(1);
      expect(done.lastError).toMatch(/active without a lease/);
      // No retries left: archived instead.
      const archived = await waitState(client, 'orphan-2', 'archived');
      expect(archived.lastError).toMatch(/active without a lease/);
      expect(runs.some((r) => r.id === 'orphan-2')).toBe(false);
      expect(await tq.admin.scard(tq.key('default', 'active'))).toBe(0);
    });

    it('an active task without a lease is found by the periodic rounds too (no recoverNow)', async () => {
      const worker = tq.worker({ leaseDuration: '500ms' });
      const ran = deferred<number>();
      worker.handle('orphan', (task) => ran.resolve(task.retried));
      await worker.start();
      await tq.admin.hset(tq.key('default', 't'), 'orphan-p', JSON.stringify({ t: 'orphan', s: Date.now() }));
      await tq.admin.sadd(tq.key('default', 'active'), 'orphan-p');
      // Rounds every 250 ms, orphans scanned every fourth round: well within 5 s.
      expect(await Promise.race([ran.promise, new Promise((r) => setTimeout(() => r('not recovered'), 5_000))])).toBe(
        1,
      );
    });

    it('an expired lease is reclaimed by a running worker’s periodic round (no recoverNow)', async () => {
      const client = tq.client();
      const worker = tq.worker({ leaseDuration: '500ms' });
      const ran = deferred<number>();
      worker.handle('expired', (task) => ran.resolve(task.retried));
      await worker.start();
      const now = Date.now();
      await tq.admin.hset(tq.key('default', 't'), 'exp-1', JSON.stringify({ t: 'expired', s: now, k: 3_600_000 }));
      await tq.admin.sadd(tq.key('default', 'active'), 'exp-1');
      await tq.admin.zadd(tq.key('default', 'lease'), String(now - 1000 + 0.5), 'exp-1');
      // The recovery round runs every max(250, lease / 2) ms.
      expect(await ran.promise).toBe(1);
      const done = await waitState(client, 'exp-1', 'completed');
      expect(done.lastError).toMatch(/^lease expired/);
    });

    it('a task with an unexpired lease is left alone', async () => {
      const worker = tq.worker();
      worker.handle('x', () => undefined);
      await worker.start();
      const now = Date.now();
      await tq.admin.hset(tq.key('default', 't'), 'held', JSON.stringify({ t: 'x', s: now }));
      await tq.admin.sadd(tq.key('default', 'active'), 'held');
      await tq.admin.zadd(tq.key('default', 'lease'), String(now + 60_000 + 0.5), 'held');
      expect(await worker.recoverNow()).toBe(0);
      expect(await tq.admin.sismember(tq.key('default', 'active'), 'held')).toBe(1);
    });
  });

  it('graceful shutdown: waits shutdownTimeout, aborts with ShutdownError, requeues at the head, keeps the caller’s connection', async () => {
    const own = new Redis(testRedisUrl());
    try {
      const client = tq.client();
      const worker = tq.worker({ connection: own, concurrency: 2, shutdownTimeout: '300ms' });
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
      const fillers = await client.enqueueMany(
        Array.from({ length: 3 }, (_, i) => ({ type: 'filler', payload: { i } })),
      );

      const t0 = Date.now();
      await worker.shutdown();
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(300 + 700);

      const reason = await longReason.promise;
      expect(reason).toBeInstanceOf(ShutdownError);
      expect((reason as ShutdownError).code).toBe('SHUTDOWN');
      const pending = tq.key('default', 'pending');
      expect(await tq.admin.lindex(pending, -1)).toBe(long.id);
      expect(await tq.admin.lrange(pending, 0, -1)).toEqual([...fillers.map((f) => f.id).reverse(), long.id]);
      expect(await tq.admin.zscore(tq.key('default', 'lease'), long.id)).toBeNull();
      expect(await tq.admin.sismember(tq.key('default', 'active'), long.id)).toBe(0);
      const longInfo = await client.getTask(long.id, 'default');
      expect(longInfo?.state).toBe('pending');
      expect(longInfo?.retried).toBe(0);
      // The short one finished within the timeout and completed normally.
      const shortInfo = await client.getTask(short.id, 'default');
      expect(shortInfo?.state).toBe('completed');
      expect(shortInfo?.result).toBe('short done');
      // The connection passed in is still open and usable.
      expect(own.status).toBe('ready');
      expect(await own.ping()).toBe('PONG');
      // A handler that resolves after shutdown writes nothing.
      lateResolve();
      await new Promise((r) => setTimeout(r, 50));
      expect((await client.getTask(long.id, 'default'))?.state).toBe('pending');
    } finally {
      own.disconnect();
    }
  });
});
