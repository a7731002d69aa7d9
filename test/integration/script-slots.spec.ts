import calculateSlot from 'cluster-key-slot';
import { afterEach, describe, expect, it } from 'vitest';
import {
  observeScriptCalls,
  SCRIPT_NAMES,
  scriptSource,
  type ScriptName,
} from '../../lib/core/broker/redis/scripts.js';
import { chain, chord, SimulatedClock, task, TaskInspector, TaskScheduler, type Task } from '../../lib/core/index.js';
import { testRedisUrl } from '../helpers/redis.js';
import { useTaskq } from '../helpers/taskq.js';
import { deferred, waitFor } from '../helpers/wait.js';

/**
 * "Every key a script touches is passed in KEYS, and every script call touches one cluster slot": records the name
 * and KEYS of every script call made during a realistic lifecycle (client, worker, inspector, scheduler) and checks
 * that the keys of each call hash to a single slot, and that every script was exercised.
 */
describe('script calls touch one cluster slot', () => {
  const tq = useTaskq('slots');
  afterEach(() => observeScriptCalls(undefined));

  it('every script call of a full lifecycle has all its KEYS in one slot; every script is covered', async () => {
    const calls: { name: ScriptName; keys: readonly string[] }[] = [];
    observeScriptCalls((name, keys) => calls.push({ name, keys: [...keys] }));

    const client = tq.client();
    // Short lease so heartbeats (extend-lease) happen within the test; retries after 10 ms.
    const worker = tq.worker({ queues: { default: 2, 'other.q:1': 1 }, leaseDuration: '600ms', retryDelay: () => 10 });
    const seen = new Map<string, number>();
    const count = (t: Task) => seen.set(t.type, (seen.get(t.type) ?? 0) + 1);
    worker.handle('ok', (t) => {
      count(t);
      return { ok: true };
    });
    worker.handle('flaky', (t) => {
      count(t);
      if (t.retried === 0) throw new Error('first attempt fails');
      return 'second ok';
    });
    worker.handle('fail', (t) => {
      count(t);
      throw new Error('always');
    });
    worker.handle('slow', async (t) => {
      count(t);
      await new Promise((r) => setTimeout(r, 500));
    });
    worker.handle('cancel-me', (t) => {
      count(t);
      return new Promise((_resolve, reject) => t.signal.addEventListener('abort', () => reject(t.signal.reason)));
    });
    worker.handle(
      'steps',
      (t) => {
        count(t);
        return 1;
      },
      (t) => (t.previous as number) + 1,
    );
    await worker.start(); // forward, recover (initial round)

    // enqueue: immediate, scheduled, unique (extra KEYS), with a result awaited (waiters), a batch > 1000 (pipeline).
    const { result } = await client.enqueueAndWait('ok', { n: 1 }, { retention: '1h' });
    await result;
    await client.enqueue('ok', { n: 2 }, { unique: '10s' });
    await client.enqueue('ok', { n: 3 }, { processIn: '150ms' });
    await client.enqueue('flaky', {});
    const failing = await client.enqueue('fail', {}, { maxRetry: 0 });
    await client.enqueue('slow', {}, { queue: 'other.q:1' });
    await client.enqueueMany(
      Array.from({ length: 1001 }, (_, i) => ({ type: 'ok', payload: { i }, options: { queue: 'other.q:1' } })),
    );
    await waitFor(
      () =>
        (seen.get('ok') ?? 0) >= 1004 && seen.get('flaky') === 2 && seen.get('fail') === 1 && seen.get('slow') === 1,
      'the lifecycle tasks to run',
      10_000,
    );
    await waitFor(async () => (await client.getTask(failing.id, 'default'))?.state === 'archived', 'archived'); // task-info

    // cancel: a waiting unique task (cancel with its lock key) and an active one (archived through the cancel).
    const waiting = await client.enqueue('ok', { n: 4 }, { processIn: '1h', unique: '10s' });
    expect(await client.cancel(waiting.id, 'default')).toBe(true);
    const activeOne = await client.enqueue('cancel-me', {});
    await waitFor(() => seen.get('cancel-me') === 1, 'cancel-me running');
    expect(await client.cancel(activeOne.id, 'default')).toBe(true);
    await waitFor(
      async () => (await client.getTask(activeOne.id, 'default'))?.state === 'archived',
      'canceled task archived',
    );

    // recover: an orphan (active without lease) and an expired lease, written by hand.
    const now = Date.now();
    await tq.admin.hset(
      tq.key('default', 't'),
      'orphan',
      JSON.stringify({ t: 'ok', s: now }),
      'expired',
      JSON.stringify({ t: 'ok', s: now }),
    );
    await tq.admin.sadd(tq.key('default', 'active'), 'orphan', 'expired');
    await tq.admin.zadd(tq.key('default', 'lease'), String(now - 10_000 + 0.5), 'expired');
    expect(await worker.recoverNow()).toBe(2);
    // janitor
    await worker.cleanNow();

    // inspector: pause/unpause, archiveTask, runTask, deleteTask.
    const inspector = new TaskInspector({ connection: testRedisUrl(), prefix: tq.prefix });
    try {
      await inspector.pauseQueue('default');
      const held = await client.enqueue('ok', { n: 5 });
      await inspector.archiveTask(held.id, 'default');
      await inspector.runTask(held.id, 'default');
      await inspector.deleteTask(held.id, 'default');
      await inspector.unpauseQueue('default');
    } finally {
      await inspector.close();
    }

    // workflows: create, claim, dispatched, advance (a chord across both queues), cancel; a handler chain: checkpoint.
    const wf = await client.enqueueWorkflow(
      chord([task('ok', { m: 1 }), task('ok', { m: 2 }, { queue: 'other.q:1' })], task('ok')),
    );
    await client.waitForWorkflow(wf.id, { timeout: '10s' });
    const later = await client.enqueueWorkflow(chain(task('ok', { later: true }, { processIn: '1h' }), task('ok')));
    expect(await client.cancelWorkflow(later.id)).toBe(true);
    const steps = await client.enqueueAndWait('steps', {});
    expect(await steps.result).toBe(2);

    // requeue on shutdown: a second worker with a task that outlives its shutdown timeout.
    const quitter = tq.worker({ queues: ['other.q:1'], shutdownTimeout: '50ms' });
    const running = deferred();
    quitter.handle('forever', (t) => {
      running.resolve();
      return new Promise((r) => t.signal.addEventListener('abort', r));
    });
    await worker.shutdown();
    await quitter.start();
    await client.enqueue('forever', {}, { queue: 'other.q:1' });
    await running.promise;
    await quitter.shutdown();
    expect(await tq.admin.llen(tq.key('other.q:1', 'pending'))).toBe(1);

    // scheduler: upsert, tick, remove.
    const clock = new SimulatedClock(Date.UTC(2030, 0, 1, 0, 0, 0));
    const scheduler = new TaskScheduler({
      connection: testRedisUrl(),
      prefix: tq.prefix,
      clock,
      logger: { error: () => undefined, warn: () => undefined },
    });
    try {
      const id = await scheduler.register('@every 1s', 'ok', { periodic: true }, { queue: 'other.q:1' });
      await scheduler.refresh();
      clock.advance(1500);
      await scheduler.tick();
      expect(await scheduler.unregister(id)).toBe(true);
    } finally {
      await scheduler.shutdown();
    }
    observeScriptCalls(undefined);

    // Every call: at least one key, all in one slot, and every key carries the queue's hash tag.
    const bad: string[] = [];
    for (const { name, keys } of calls) {
      if (keys.length === 0) {
        bad.push(`${name}: no KEYS`);
        continue;
      }
      const slots = new Set(keys.map((k) => calculateSlot(k)));
      if (slots.size !== 1) bad.push(`${name}: ${slots.size} slots for ${keys.join(' ')}`);
      const tag = /\{[^}]+\}/.exec(keys[0])?.[0];
      if (!tag || !keys.every((k) => k.includes(tag)))
        bad.push(`${name}: keys without one common hash tag: ${keys.join(' ')}`);
    }
    expect(bad).toEqual([]);

    const observed = new Set(calls.map((c) => c.name));
    const missing = SCRIPT_NAMES.filter((n) => !observed.has(n));
    expect(missing, 'scripts never called during the lifecycle').toEqual([]);
    // Both queues were used, so the check covered two different hash tags; workflows have tags of their own.
    const tags = new Set(calls.map((c) => /\{[^}]+\}/.exec(c.keys[0])?.[0]));
    expect(new Set([...tags].filter((t) => !t?.startsWith('{w:')))).toEqual(new Set(['{default}', '{other.q:1}']));
    expect(tags).toContain(`{w:${wf.id}}`);
    expect(calculateSlot(tq.key('default', 't'))).not.toBe(calculateSlot(tq.key('other.q:1', 't')));
  });

  it('every redis.call in the Lua sources names its key through KEYS (PUBLISH channels aside)', () => {
    const offenders: string[] = [];
    for (const name of SCRIPT_NAMES) {
      const source = scriptSource(name);
      for (const m of source.matchAll(/redis\.call\('([A-Z]+)'(?:,\s*([^,)]+))?/g)) {
        const [, command, firstArg] = m;
        if (command === 'PUBLISH') continue; // a channel, not a key
        if (!firstArg || !/^KEYS\[/.test(firstArg.trim())) offenders.push(`${name}.lua: ${m[0]}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('checks the expanded sources: every include is resolved, and the fragments are part of what Redis runs', () => {
    const withFence = ['complete', 'retry', 'archive', 'requeue', 'extend-lease'] as const;
    for (const name of SCRIPT_NAMES) expect(scriptSource(name), name).not.toMatch(/@include/);
    for (const name of withFence) expect(scriptSource(name), name).toContain('local function fence_leases(');
    expect(scriptSource('enqueue')).toContain('local function handoff_member(');
  });
});
