import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import keySlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  chord,
  task,
  FIRE_TIME_HEADER,
  TaskClient,
  TaskInspector,
  TaskScheduler,
  TaskWorker,
  type PeriodicFireEvent,
  type RedisConnection,
  type Task,
  type TaskInfo,
  type TaskqOptions,
  type WorkerOptions,
} from '../../lib/core/index.js';
import { uniquePrefix } from '../helpers/redis.js';
import {
  probeTlsSupport,
  startRedisCluster,
  startSentinel,
  startTlsRedis,
  type RedisClusterHandle,
  type SentinelHandle,
  type TlsRedisHandle,
} from '../helpers/redis-topologies.js';
import { deferred, waitFor } from '../helpers/wait.js';

/**
 * Every connection topology against real servers started by this file on free loopback ports: a 3-master Redis
 * Cluster, a TLS-only server, and a master behind a Sentinel.
 */

const tls = await probeTlsSupport();

/** Per-test resources, closed in reverse order after each test (also when it fails). */
function useResources() {
  const closers: (() => Promise<unknown>)[] = [];
  const errors: Error[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    errors.length = 0;
  });
  return {
    /** Errors reported by workers ('error' events); tests assert there were none. */
    errors,
    client(connection: RedisConnection, prefix: string): TaskClient {
      const c = new TaskClient({ connection, prefix });
      closers.push(() => c.close());
      return c;
    },
    worker(options: TaskqOptions & WorkerOptions): TaskWorker {
      const w = new TaskWorker(options);
      w.on('error', (err) => errors.push(err));
      closers.push(() => w.shutdown());
      return w;
    },
    inspector(connection: RedisConnection, prefix: string): TaskInspector {
      const i = new TaskInspector({ connection, prefix });
      closers.push(() => i.close());
      return i;
    },
    scheduler(options: ConstructorParameters<typeof TaskScheduler>[0]): TaskScheduler {
      const s = new TaskScheduler(options);
      closers.push(() => s.shutdown());
      return s;
    },
    defer(close: () => Promise<unknown>): void {
      closers.push(close);
    },
  };
}

/** Lines of CLIENT LIST on one server whose connection name contains `taskq:` (ours, also ioredis' sub-connections). */
function taskqClients(list: string): string[] {
  return list.split('\n').filter((line) => /\bname=\S*taskq:/.test(line));
}

// ---------------------------------------------------------------------------------------------------------------

describe('Redis Cluster (3 masters)', () => {
  let cluster: RedisClusterHandle;
  let connection: RedisConnection;
  /** Three queue names whose hash slots are owned by three different masters. */
  let queues: [string, string, string];
  const res = useResources();

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    connection = { cluster: [cluster.nodes[0]] };
    const byNode = new Map<number, string>();
    for (let i = 0; byNode.size < cluster.nodes.length; i++) {
      const q = `topo-q${i}`;
      const owner = cluster.ownerOf(keySlot(q));
      if (!byNode.has(owner)) byNode.set(owner, q);
    }
    queues = [...byNode.values()] as [string, string, string];
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const ownerOfQueue = (q: string): number => cluster.ownerOf(keySlot(q));

  /** The number of wake-up connections blocked in BZPOPMIN on each node. */
  async function blockedWakers(): Promise<number[]> {
    return Promise.all(
      cluster.nodes.map(({ port }) =>
        cluster.onNode(port, async (r) => {
          const list = (await r.client('LIST')) as string;
          return list
            .split('\n')
            .filter((l) => /name=\S*taskq:worker:wake:/.test(l) && /\bcmd=bzpopmin\b/.test(l) && /\bflags=b\b/.test(l))
            .length;
        }),
      ),
    );
  }

  it('places the three queues on three masters (the server agrees with the computed slots)', async () => {
    const prefix = uniquePrefix('topo');
    const owners = new Set(queues.map(ownerOfQueue));
    expect(owners.size).toBe(3);
    for (const q of queues) {
      const serverSlot = await cluster.onNode(cluster.nodes[0].port, (r) =>
        r.cluster('KEYSLOT', `${prefix}:{${q}}:pending`),
      );
      expect(serverSlot).toBe(keySlot(q));
    }
  });

  it('processes three queues on three nodes and picks work up on each node while idle (one blocking connection per queue)', async () => {
    const prefix = uniquePrefix('topo');
    const [a, b, c] = queues;
    const client = res.client(connection, prefix);
    const worker = res.worker({ connection, prefix, queues: { [a]: 1, [b]: 1, [c]: 1 }, concurrency: 5 });
    const handled = new Map<string, { queue: string; at: number }>();
    worker.handle('echo', (task: Task<{ n: number }>) => {
      handled.set(task.id, { queue: task.queue, at: Date.now() });
      return task.payload.n;
    });
    await worker.start();

    for (const q of [a, b, c, b, a]) {
      // Idle: one BZPOPMIN blocked on every master (each queue's wake key lives on its own node).
      await waitFor(
        async () => (await blockedWakers()).every((n) => n === 1),
        'one blocked wake-up connection on every node',
      );
      const sent = Date.now();
      const info = await client.enqueue('echo', { n: 1 }, { queue: q });
      const got = await waitFor(
        () => handled.get(info.id),
        `task in queue ${q} (node ${ownerOfQueue(q)}) to be handled`,
        5_000,
      );
      expect(got.queue).toBe(q);
      // The idle wait is 30 s: only a wake-up marker on that node's blocking connection gets it here this fast.
      expect(got.at - sent).toBeLessThan(1_000);
    }
    expect(handled.size).toBe(5);
    expect(res.errors).toEqual([]);
  });

  it('enqueueAndWait returns the result in every queue (done channel over cluster pub/sub)', async () => {
    const prefix = uniquePrefix('topo');
    const client = res.client(connection, prefix);
    const worker = res.worker({ connection, prefix, queues: Object.fromEntries(queues.map((q) => [q, 1])) });
    worker.handle('double', (task: Task<number>) => ({ doubled: task.payload * 2, queue: task.queue }));
    await worker.start();
    const results = await Promise.all(
      queues.map(async (q, i) => {
        const { result } = await client.enqueueAndWait<{ doubled: number; queue: string }>(
          'double',
          i + 1,
          { queue: q },
          { timeout: 5_000 },
        );
        return result;
      }),
    );
    expect(results).toEqual(queues.map((q, i) => ({ doubled: (i + 1) * 2, queue: q })));
    expect(res.errors).toEqual([]);
  });

  it('a chord spread over two queues on two masters runs its callback once, with both results in order', async () => {
    const prefix = uniquePrefix('topo');
    const [a, b] = queues;
    const client = res.client(connection, prefix);
    const worker = res.worker({ connection, prefix, queues: { [a]: 1, [b]: 1 } });
    let callbacks = 0;
    worker.handle('where', (task: Task<number>) => `${task.payload}@${task.queue}`);
    worker.handle('join', (task) => {
      callbacks++;
      return (task.previous as string[]).join(' ');
    });
    await worker.start();
    const flow = chord(
      [task('where', 1, { queue: a }), task('where', 2, { queue: b })],
      task('join', {}, { queue: b }),
    );
    const info = await client.enqueueWorkflow(flow);
    // The workflow's own keys hash to a third slot, apart from both queues.
    expect(keySlot(`w:${info.id}`)).not.toBe(keySlot(a));
    expect(await client.waitForWorkflow(info.id, { timeout: '10s' })).toBe(`1@${a} 2@${b}`);
    expect(callbacks).toBe(1);
    expect(res.errors).toEqual([]);
  });

  it('work arriving on several nodes at once is picked up at once (no wake-up marker is lost)', async () => {
    // Each queue has its own blocking connection here. A marker popped by one of them while the worker is busy
    // fetching must not be dropped: its queue's pending list is no longer empty, so later enqueues add no marker and
    // the queue would sit until the 30 s idle timeout.
    const prefix = uniquePrefix('topo');
    const client = res.client(connection, prefix);
    const worker = res.worker({ connection, prefix, queues: Object.fromEntries(queues.map((q) => [q, 1])) });
    const done = new Set<string>();
    worker.handle('n', (task) => {
      done.add(task.id);
    });
    await worker.start();
    for (let round = 0; round < 25; round++) {
      // One after the other: the first wakes the worker, the next arrive while it fetches.
      const infos: TaskInfo[] = [];
      for (const q of queues) infos.push(await client.enqueue('n', { round }, { queue: q }));
      await waitFor(
        () => infos.every((i) => done.has(i.id)),
        `round ${round}: tasks in ${
          infos
            .filter((i) => !done.has(i.id))
            .map((i) => i.queue)
            .join(', ') || 'no queue'
        } picked up`,
        3_000,
      );
    }
    expect(res.errors).toEqual([]);
  });

  it('runs a scheduled task (processIn 300ms) at its time and retries a failed one', async () => {
    const prefix = uniquePrefix('topo');
    const [, b, c] = queues;
    const client = res.client(connection, prefix);
    const worker = res.worker({ connection, prefix, queues: { [b]: 1, [c]: 1 }, retryDelay: () => 100 });
    const ranAt = deferred<number>();
    worker.handle('later', () => ranAt.resolve(Date.now()));
    const attempts: number[] = [];
    const failures: boolean[] = [];
    worker.on('failed', (_task, _err, willRetry) => failures.push(willRetry));
    worker.handle('flaky', (task) => {
      attempts.push(task.retried);
      if (task.retried === 0) throw new Error('first attempt fails');
      return 'second attempt';
    });
    await worker.start();

    const sent = Date.now();
    const scheduled = await client.enqueue('later', {}, { queue: b, processIn: '300ms' });
    expect(scheduled.state).toBe('scheduled');
    const at = await ranAt.promise;
    expect(at - sent).toBeGreaterThanOrEqual(290);
    expect(at - sent).toBeLessThan(2_000);

    const { result } = await client.enqueueAndWait<string>('flaky', {}, { queue: c, maxRetry: 3 }, { timeout: 10_000 });
    expect(await result).toBe('second attempt');
    expect(attempts).toEqual([0, 1]);
    expect(failures).toEqual([true]);
    expect(res.errors).toEqual([]);
  });

  it('cancel() of an active task fires its signal (cancel channel) and archives it', async () => {
    const prefix = uniquePrefix('topo');
    const [a] = queues;
    const client = res.client(connection, prefix);
    const worker = res.worker({ connection, prefix, queues: { [a]: 1 } });
    const started = deferred<string>();
    const aborted = deferred<unknown>();
    worker.handle('block', (task) => {
      started.resolve(task.id);
      return new Promise((_, reject) => {
        task.signal.addEventListener('abort', () => {
          aborted.resolve(task.signal.reason);
          reject(task.signal.reason instanceof Error ? task.signal.reason : new Error(String(task.signal.reason)));
        });
      });
    });
    const archived = deferred<string>();
    worker.on('archived', (task, err) => archived.resolve(`${task.id} ${err.message}`));
    await worker.start();

    const info = await client.enqueue('block', {}, { queue: a });
    expect(await started.promise).toBe(info.id);
    expect(await client.cancel(info.id, a)).toBe(true);
    await aborted.promise;
    expect(await archived.promise).toMatch(new RegExp(`^${info.id} .*cancel`));
    const after = await waitFor(async () => {
      const t = await client.getTask(info.id, a);
      return t?.state === 'archived' ? t : undefined;
    }, 'the canceled task to be archived');
    expect(after.lastError).toMatch(/cancel/);
    expect(res.errors).toEqual([]);
  });

  it('a TaskScheduler entry @every 1s fires once per tick, with two schedulers running', async () => {
    const prefix = uniquePrefix('topo');
    const [, b] = queues;
    const worker = res.worker({ connection, prefix, queues: { [b]: 1 } });
    const fireTimes: string[] = [];
    worker.handle('tick', (task) => {
      fireTimes.push(task.headers[FIRE_TIME_HEADER]);
    });
    await worker.start();
    const fired: PeriodicFireEvent[] = [];
    const one = res.scheduler({ connection, prefix, onFire: (e) => fired.push(e) });
    const two = res.scheduler({ connection, prefix, onFire: (e) => fired.push(e) });
    const id = await one.register('@every 1s', 'tick', {}, { queue: b, id: 'every-second' });
    expect(id).toBe('every-second');
    await Promise.all([one.start(), two.start()]);

    await waitFor(() => fireTimes.length >= 3, 'three ticks to be handled', 6_000);
    // Every tick enqueued one task: distinct fire times one second apart, and as many fires as handled tasks.
    const times = fireTimes.map((t) => Date.parse(t));
    expect(new Set(times).size).toBe(times.length);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBe(1_000);
    await waitFor(() => fired.length === fireTimes.length, 'fire events to match handled ticks', 2_000);
    expect(new Set(fired.map((e) => e.fireTime.getTime())).size).toBe(fired.length);
    const entries = await two.list();
    expect(entries.map((e) => [e.id, e.queue])).toEqual([['every-second', b]]);
    expect(res.errors).toEqual([]);
  });

  it('TaskInspector.queues/queueInfo/listTasks read queues on different nodes', async () => {
    const prefix = uniquePrefix('topo');
    const [a, b, c] = queues;
    const client = res.client(connection, prefix);
    const inspector = res.inspector(connection, prefix);
    const later = await client.enqueue('x', { n: 1 }, { queue: a, processIn: '1h' });
    await client.enqueueMany([
      { type: 'x', payload: 2, options: { queue: b } },
      { type: 'x', payload: 3, options: { queue: b } },
      { type: 'x', payload: 4, options: { queue: c } },
    ]);
    expect((await inspector.queues()).sort()).toEqual([...queues].sort());
    const [ia, ib, ic] = await Promise.all(queues.map((q) => inspector.queueInfo(q)));
    expect([ia.scheduled, ia.pending, ia.size]).toEqual([1, 0, 1]);
    expect([ib.pending, ib.size]).toEqual([2, 2]);
    expect([ic.pending, ic.size]).toEqual([1, 1]);
    const listed = await inspector.listTasks(a, 'scheduled');
    expect(listed.map((t) => t.id)).toEqual([later.id]);
    await inspector.pauseQueue(c);
    expect((await inspector.queueInfo(c)).paused).toBe(true);
  });

  it('shutdown closes every connection it opened on every node', async () => {
    const prefix = uniquePrefix('topo');
    const all = Object.fromEntries(queues.map((q) => [q, 1]));
    const client = new TaskClient({ connection, prefix });
    const worker = new TaskWorker({ connection, prefix, queues: all });
    const inspector = new TaskInspector({ connection, prefix });
    const scheduler = new TaskScheduler({ connection, prefix });
    res.defer(() => Promise.all([client.close(), worker.shutdown(), inspector.close(), scheduler.shutdown()]));
    worker.handle('x', () => 'ok');
    await worker.start();
    await scheduler.start();
    const { result } = await client.enqueueAndWait('x', {}, { queue: queues[2] });
    expect(await result).toBe('ok');
    expect(await inspector.queueInfo(queues[0])).toBeTruthy();
    const before = await Promise.all(
      cluster.nodes.map(({ port }) =>
        cluster.onNode(port, async (r) => taskqClients((await r.client('LIST')) as string)),
      ),
    );
    for (const lines of before) expect(lines.length).toBeGreaterThan(0);

    await worker.shutdown();
    await scheduler.shutdown();
    await inspector.close();
    await client.close();
    await waitFor(
      async () => {
        const left = await Promise.all(
          cluster.nodes.map(({ port }) =>
            cluster.onNode(port, async (r) => taskqClients((await r.client('LIST')) as string)),
          ),
        );
        return left.every((l) => l.length === 0);
      },
      'no taskq connection left on any node',
      5_000,
    );
  });

  it('a user-owned Cluster instance is used and never closed by the library', async () => {
    const prefix = uniquePrefix('topo');
    const own = new Cluster([cluster.nodes[1]]);
    res.defer(async () => {
      if (own.status !== 'end') own.disconnect();
    });
    const [a, b] = queues;
    const client = new TaskClient({ connection: own, prefix });
    const worker = new TaskWorker({ connection: own, prefix, queues: { [a]: 1, [b]: 1 } });
    const inspector = new TaskInspector({ connection: own, prefix });
    const errors: Error[] = [];
    worker.on('error', (err) => errors.push(err));
    res.defer(() => Promise.all([client.close(), worker.shutdown(), inspector.close()]));
    worker.handle('sum', (task: Task<number[]>) => task.payload.reduce((x, y) => x + y, 0));
    await worker.start();
    expect(worker.redis).toBe(own);
    expect(client.redis).toBe(own);

    const { result } = await client.enqueueAndWait<number>('sum', [1, 2, 3], { queue: a }, { timeout: 5_000 });
    expect(await result).toBe(6);
    const { result: second } = await client.enqueueAndWait<number>('sum', [4, 5], { queue: b }, { timeout: 5_000 });
    expect(await second).toBe(9);
    expect((await inspector.queueInfo(a)).processed).toBeGreaterThanOrEqual(1);

    await worker.shutdown();
    await client.close();
    await inspector.close();
    expect(own.status).toBe('ready');
    expect(await own.ping()).toBe('PONG');
    expect(await own.get(`${prefix}:no-such-key`)).toBeNull();
    // The connections the library made for itself (blocking, pub/sub) are gone.
    await waitFor(
      async () => {
        const left = await Promise.all(
          cluster.nodes.map(({ port }) =>
            cluster.onNode(port, async (r) => taskqClients((await r.client('LIST')) as string)),
          ),
        );
        return left.every((l) => l.length === 0);
      },
      'no taskq connection left on any node',
      5_000,
    );
    expect(errors).toEqual([]);
    await own.quit();
    await waitFor(() => own.status === 'end', 'our own cluster to end after quit()', 2_000);
  });
});

// ---------------------------------------------------------------------------------------------------------------

const run = promisify(execFile);

describe('TLS (rediss)', () => {
  let server: TlsRedisHandle;
  const res = useResources();

  beforeAll(async () => {
    if (tls.supported) server = await startTlsRedis();
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  const tlsName = (name: string): string => (tls.supported ? name : `${name} (skipped: ${tls.reason})`);

  it.skipIf(!tls.supported)(
    tlsName('enqueues, processes and returns results over TLS (options object with the CA)'),
    async () => {
      const prefix = uniquePrefix('topo-tls');
      const connection: RedisConnection = {
        host: '127.0.0.1',
        port: server.port,
        tls: { ca: server.ca, servername: 'localhost' },
      };
      const client = res.client(connection, prefix);
      const worker = res.worker({ connection, prefix });
      const handled = deferred<unknown>();
      worker.handle('plain', (task) => handled.resolve(task.payload));
      worker.handle('square', (task: Task<number>) => task.payload ** 2);
      await worker.start();
      await client.enqueue('plain', { over: 'tls' });
      expect(await handled.promise).toEqual({ over: 'tls' });
      const { result } = await client.enqueueAndWait<number>('square', 12, {}, { timeout: 5_000 });
      expect(await result).toBe(144);
      expect(res.errors).toEqual([]);
    },
  );

  it.skipIf(!tls.supported)(
    tlsName('a rediss:// URL connects with TLS: certificate verified (rejected without the CA)'),
    async () => {
      // Without the CA, the URL form must fail on the certificate: proof that rediss:// really speaks TLS and verifies.
      const worker = new TaskWorker({
        connection: `rediss://127.0.0.1:${server.port}`,
        prefix: uniquePrefix('topo-tls'),
        startTimeout: 5_000,
      });
      res.defer(() => worker.shutdown());
      await expect(worker.start()).rejects.toThrow(/certificate/i);
    },
  );

  it.skipIf(!tls.supported)(
    tlsName('a rediss:// URL works end to end when the CA is trusted (child process with NODE_EXTRA_CA_CERTS)'),
    async () => {
      // A URL cannot carry a CA, and NODE_EXTRA_CA_CERTS is read only at process start (Node 20 has no
      // tls.setDefaultCACertificates): run the compiled engine in a child process that trusts the test CA.
      const prefix = uniquePrefix('topo-tls');
      const code = `
        const { TaskClient, TaskWorker } = await import(${JSON.stringify(pathToFileURL(process.env.TASKQ_CORE_DIST!).href)});
        const url = process.env.TOPO_URL, prefix = process.env.TOPO_PREFIX;
        const worker = new TaskWorker({ connection: url, prefix });
        worker.handle('url', (t) => ({ echoed: t.payload, queue: t.queue }));
        await worker.start();
        const client = new TaskClient({ connection: url, prefix });
        const { result } = await client.enqueueAndWait('url', { n: 7 }, {}, { timeout: 5000 });
        const value = await result;
        await worker.shutdown();
        await client.close();
        console.log(JSON.stringify({ value, tls: worker.redis.options.tls !== undefined }));
      `;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: server.caFile,
          TOPO_URL: `rediss://127.0.0.1:${server.port}`,
          TOPO_PREFIX: prefix,
        },
        timeout: 20_000,
      });
      expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
        value: { echoed: { n: 7 }, queue: 'default' },
        tls: true,
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------

describe('Sentinel', () => {
  let sentinel: SentinelHandle;
  let connection: RedisConnection;
  const res = useResources();

  beforeAll(async () => {
    sentinel = await startSentinel('mymaster');
    connection = { sentinels: [{ host: '127.0.0.1', port: sentinel.sentinelPort }], name: sentinel.name };
  }, 30_000);
  afterAll(async () => {
    await sentinel?.stop();
  });

  it('enqueues, processes, returns results and cancels through the master the Sentinel names', async () => {
    const prefix = uniquePrefix('topo-sentinel');
    const client = res.client(connection, prefix);
    const worker = res.worker({ connection, prefix });
    const handled = deferred<unknown>();
    worker.handle('plain', (task) => handled.resolve(task.payload));
    worker.handle('concat', (task: Task<string[]>) => task.payload.join('-'));
    const started = deferred();
    worker.handle('block', (task) => {
      started.resolve();
      return new Promise((_, reject) => task.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    await worker.start();

    await client.enqueue('plain', { via: 'sentinel' });
    expect(await handled.promise).toEqual({ via: 'sentinel' });
    const { result } = await client.enqueueAndWait<string>('concat', ['a', 'b', 'c'], {}, { timeout: 5_000 });
    expect(await result).toBe('a-b-c');

    const blocked = await client.enqueue('block', {});
    await started.promise;
    expect(await client.cancel(blocked.id)).toBe(true);
    await waitFor(
      async () => (await client.getTask(blocked.id))?.state === 'archived',
      'the canceled task to be archived',
    );

    // The library's connections were made to the master the Sentinel resolved (the data is there too).
    const admin = new (await import('ioredis')).Redis({ port: sentinel.master.port, host: '127.0.0.1' });
    res.defer(async () => admin.quit());
    const names = ((await admin.client('LIST')) as string).split('\n').map((l) => /\bname=(\S*)/.exec(l)?.[1] ?? '');
    expect(names).toEqual(
      expect.arrayContaining([
        'taskq:client',
        'taskq:worker',
        'taskq:worker:wake:0',
        'taskq:worker:sub',
        'taskq:client:sub',
      ]),
    );
    expect(await admin.sismember(`${prefix}:queues`, 'default')).toBe(1);
    expect(res.errors).toEqual([]);
  });
});
