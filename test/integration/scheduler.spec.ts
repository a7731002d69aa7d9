import { afterEach, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../lib/core/broker/codec.js';
import { GlobalKeys, QueueKeys } from '../../lib/core/broker/redis/keys.js';
import { observeScriptCalls } from '../../lib/core/broker/redis/scripts.js';
import calculateSlot from 'cluster-key-slot';
import { SimulatedClock } from '../../lib/core/clock.js';
import { InvalidCronspecError } from '../../lib/core/periodic/cron.js';
import { InvalidOptionError } from '../../lib/core/errors.js';
import { TaskScheduler, type SchedulerLogger, type SchedulerOptions } from '../../lib/core/index.js';
import { backends, useTaskq, type Backend } from '../helpers/taskq.js';
import { waitFor } from '../helpers/wait.js';

const at = (iso: string): number => new Date(iso).getTime();

interface CapturedLog extends SchedulerLogger {
  errors: string[];
  warnings: string[];
}
function captureLog(): CapturedLog {
  const errors: string[] = [];
  const warnings: string[] = [];
  return { errors, warnings, error: (m) => errors.push(m), warn: (m) => warnings.push(m) };
}

describe.each(backends)('TaskScheduler (integration, %s)', (backend: Backend) => {
  const tq = useTaskq('sched', backend);
  const schedulers: TaskScheduler[] = [];

  const make = (options: Partial<SchedulerOptions> = {}): TaskScheduler => {
    const s = new TaskScheduler({ connection: tq.connection, prefix: tq.prefix, logger: captureLog(), ...options });
    schedulers.push(s);
    return s;
  };

  /** Fired tasks of a queue: [fire time header, periodic id header, message] sorted by fire time. */
  async function firedTasks(queue = 'default') {
    const all = await tq.probe.messages(queue);
    return Object.entries(all)
      .map(([id, raw]) => ({ id, message: decodeMessage(raw) }))
      .map((t) => ({ ...t, fire: t.message.headers['taskq-fire-time'], entry: t.message.headers['taskq-periodic-id'] }))
      .sort((a, b) => (a.fire < b.fire ? -1 : a.fire > b.fire ? 1 : 0));
  }

  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.shutdown()));
  });

  it('registers a durable entry, fires each tick once as a pending task with the periodic headers', async () => {
    const clock = new SimulatedClock(at('2025-01-01T00:00:00.300Z'));
    const s = make({ clock });
    const id = await s.register('@every 1s', 'report', { n: 1 }, { maxRetry: 3, headers: { tenant: 'a' } });
    expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    await s.refresh();

    expect(await s.tick()).toEqual([]); // nothing due yet
    clock.set(at('2025-01-01T00:00:01.010Z'));
    const fired = await s.tick();
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({
      id,
      queue: 'default',
      type: 'report',
      fireTime: new Date('2025-01-01T00:00:01.000Z'),
    });
    expect(await s.tick()).toEqual([]); // the same tick never fires twice

    expect(await tq.probe.pendingIds('default')).toEqual([fired[0].taskId]);
    expect(await tq.inspector().queues()).toContain('default');
    if (backend === 'redis') {
      const keys = new QueueKeys(tq.prefix, 'default');
      expect(await tq.admin.zscore(keys.wake, 'p')).toBe('0');
      expect(await tq.admin.sismember(new GlobalKeys(tq.prefix).queues, 'default')).toBe(1);
    }
    const [task] = await firedTasks();
    expect(task.id).toBe(fired[0].taskId);
    expect(task.message).toMatchObject({
      type: 'report',
      payload: { n: 1 },
      maxRetry: 3,
      readyAt: at('2025-01-01T00:00:01Z'),
    });
    expect(task.message.headers).toEqual({
      tenant: 'a',
      'taskq-periodic-id': id,
      'taskq-fire-time': '2025-01-01T00:00:01.000Z',
    });

    const [entry] = await s.list();
    expect(entry).toMatchObject({
      id,
      spec: '@every 1s',
      type: 'report',
      payload: { n: 1 },
      queue: 'default',
      tz: 'UTC',
      maxRetry: 3,
      prevFireAt: new Date('2025-01-01T00:00:01Z'),
      nextFireAt: new Date('2025-01-01T00:00:02Z'),
      lastTaskId: fired[0].taskId,
    });
  });

  it('processIn schedules each fired task that long after its tick; every script call touches one slot', async () => {
    const slots: number[][] = [];
    // Slots are Redis Cluster's: only the Redis backend has script calls to check.
    if (backend === 'redis') observeScriptCalls((_name, keys) => slots.push(keys.map((k) => calculateSlot(k))));
    try {
      const clock = new SimulatedClock(at('2025-01-01T00:00:00.000Z'));
      const s = make({ clock });
      await s.register('@every 1s', 'later', null, { id: 'later', processIn: '30s', queue: 'q:delayed' });
      await s.refresh();
      clock.set(at('2025-01-01T00:00:01.002Z'));
      const [fire] = await s.tick();
      expect(await tq.probe.score('q:delayed', 'scheduled', fire.taskId)).toBe(at('2025-01-01T00:00:31Z'));
      if (backend === 'redis') {
        expect(await tq.admin.zscore(new QueueKeys(tq.prefix, 'q:delayed').wake, 'd')).toBe('0');
      }
      expect(await tq.probe.count('q:delayed', 'pending')).toBe(0);
      await s.unregister('later');
    } finally {
      observeScriptCalls(undefined);
    }
    if (backend === 'redis') {
      expect(slots.length).toBeGreaterThanOrEqual(3);
      for (const call of slots) expect(new Set(call).size).toBe(1);
    }
  });

  it('two schedulers computing the same ticks enqueue each tick exactly once', async () => {
    const clock = new SimulatedClock(at('2025-01-01T00:00:00.000Z'));
    const a = make({ clock });
    const b = make({ clock });
    await a.register('@every 1s', 'x', null, { id: 'e1' });
    await a.register('*/2 * * * * *', 'y', null, { id: 'e2', queue: 'other' });
    await Promise.all([a.refresh(), b.refresh()]);
    let wonA = 0;
    let wonB = 0;
    for (let i = 1; i <= 10; i++) {
      clock.set(at('2025-01-01T00:00:00Z') + i * 1000 + 5);
      const [fa, fb] = await Promise.all([a.tick(), b.tick()]);
      wonA += fa.length;
      wonB += fb.length;
    }
    expect(wonA + wonB).toBe(15);
    const fires = (await firedTasks()).map((t) => t.fire);
    expect(fires).toEqual(
      Array.from({ length: 10 }, (_, i) => new Date(at('2025-01-01T00:00:00Z') + (i + 1) * 1000).toISOString()),
    );
    expect((await firedTasks('other')).map((t) => t.fire)).toEqual(
      [2, 4, 6, 8, 10].map((sec) => new Date(at('2025-01-01T00:00:00Z') + sec * 1000).toISOString()),
    );
  });

  it('updating an entry by id changes it in place, without a duplicate entry or tick', async () => {
    const clock = new SimulatedClock(at('2025-01-01T00:00:00.000Z'));
    const s = make({ clock });
    const other = make({ clock });
    await s.register('@every 1s', 'x', { v: 1 }, { id: 'job' });
    await Promise.all([s.refresh(), other.refresh()]);
    clock.set(at('2025-01-01T00:00:01.001Z'));
    expect(await s.tick()).toHaveLength(1);

    // Same id, new spec and payload: one entry, updated.
    await s.register('@every 5s', 'x', { v: 2 }, { id: 'job' });
    const list = await s.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id: 'job',
      spec: '@every 5s',
      payload: { v: 2 },
      prevFireAt: new Date('2025-01-01T00:00:01Z'),
    });

    // `other` still has the old revision in memory: its attempt is refused as stale and it reloads.
    clock.set(at('2025-01-01T00:00:02.001Z'));
    expect(await other.tick()).toEqual([]);
    await s.refresh();
    expect(await s.tick()).toEqual([]); // 00:00:02 is not a tick of @every 5s
    clock.set(at('2025-01-01T00:00:05.001Z'));
    await other.refresh();
    const [fa, fb] = await Promise.all([s.tick(), other.tick()]);
    expect([...fa, ...fb].map((f) => f.fireTime.toISOString())).toEqual(['2025-01-01T00:00:05.000Z']);
    const tasks = await firedTasks();
    expect(tasks.map((t) => [t.fire, t.message.payload])).toEqual([
      ['2025-01-01T00:00:01.000Z', { v: 1 }],
      ['2025-01-01T00:00:05.000Z', { v: 2 }],
    ]);

    // Registering the identical entry again is a no-op (every replica does it at start).
    const before = await tq.probe.cronState('default', 'job');
    await s.register('@every 5s', 'x', { v: 2 }, { id: 'job' });
    expect(await tq.probe.cronState('default', 'job')).toBe(before);

    // Moving it to another queue keeps a single entry.
    await s.register('@every 5s', 'x', { v: 2 }, { id: 'job', queue: 'q2' });
    expect((await s.list()).map((e) => [e.id, e.queue])).toEqual([['job', 'q2']]);
  });

  it('a changed spec does not fire ticks from before the update', async () => {
    const clock = new SimulatedClock(at('2025-01-01T10:00:00.000Z'));
    const s = make({ clock });
    await s.register('0 0 * * *', 'x', null, { id: 'daily' });
    clock.set(at('2025-01-01T10:00:30.000Z'));
    // Every minute from now on; 10:00:00 (before the update) must not fire.
    await s.register('* * * * *', 'x', null, { id: 'daily' });
    await s.refresh();
    expect(await s.tick()).toEqual([]);
    clock.set(at('2025-01-01T10:01:00.002Z'));
    expect((await s.tick()).map((f) => f.fireTime.toISOString())).toEqual(['2025-01-01T10:01:00.000Z']);
  });

  it('unregister stops the entry, also on a scheduler that had it loaded', async () => {
    const clock = new SimulatedClock(at('2025-01-01T00:00:00.000Z'));
    const s = make({ clock });
    const other = make({ clock });
    const id = await s.register('@every 1s', 'x', null);
    await other.refresh();
    expect(await s.unregister(id)).toBe(true);
    expect(await s.unregister(id)).toBe(false);
    clock.set(at('2025-01-01T00:00:01.001Z'));
    expect(await other.tick()).toEqual([]); // refused as stale by the script
    expect(await s.list()).toEqual([]);
    expect(await firedTasks()).toEqual([]);
  });

  it('entries survive a restart of every scheduler', async () => {
    const clock = new SimulatedClock(at('2025-01-01T00:00:00.000Z'));
    const first = make({ clock });
    await first.register('@every 1s', 'x', null, { id: 'keep' });
    await first.refresh();
    clock.set(at('2025-01-01T00:00:01.001Z'));
    expect(await first.tick()).toHaveLength(1);
    await first.shutdown();

    const second = make({ clock });
    await second.refresh();
    expect(await second.tick()).toEqual([]); // 00:00:01 already fired before the restart
    clock.set(at('2025-01-01T00:00:02.001Z'));
    expect((await second.tick()).map((f) => f.id)).toEqual(['keep']);
    expect((await firedTasks()).map((t) => t.fire)).toEqual(['2025-01-01T00:00:01.000Z', '2025-01-01T00:00:02.000Z']);
  });

  it('tz and DST: a daily 02:30 America/New_York entry fires per cron-parser rules across both transitions', async () => {
    const clock = new SimulatedClock(at('2025-03-07T12:00:00Z'));
    const s = make({ clock });
    await s.register('30 2 * * *', 'dst', null, { id: 'ny', tz: 'America/New_York' });
    await s.refresh();
    const fired: string[] = [];
    // Walk the simulated clock minute by minute through the spring-forward days, then the fall-back days.
    const walk = async (from: string, to: string) => {
      clock.set(at(from));
      await s.refresh();
      for (let t = at(from); t <= at(to); t += 60_000) {
        clock.set(t + 50);
        for (const f of await s.tick()) fired.push(f.fireTime.toISOString());
      }
    };
    await walk('2025-03-07T12:00:00Z', '2025-03-10T12:00:00Z');
    await walk('2025-10-31T12:00:00Z', '2025-11-03T12:00:00Z');
    expect(fired).toEqual([
      '2025-03-08T07:30:00.000Z', // 02:30 EST
      '2025-03-09T07:30:00.000Z', // 02:30 does not exist: 03:30 EDT
      '2025-03-10T06:30:00.000Z', // 02:30 EDT
      '2025-11-01T06:30:00.000Z', // 02:30 EDT
      '2025-11-02T07:30:00.000Z', // 02:30 EST, once
      '2025-11-03T07:30:00.000Z',
    ]);
  });

  it('missed ticks: only the next tick fires after an outage (catchUp none); catchUp last fires the last missed once', async () => {
    const clock = new SimulatedClock(at('2025-01-01T00:00:00.000Z'));
    const log = captureLog();
    const s = make({ clock, logger: log });
    await s.register('@every 10s', 'none', null, { id: 'none' });
    await s.register('@every 10s', 'last', null, { id: 'last', catchUp: 'last' });
    await s.refresh();
    clock.set(at('2025-01-01T00:00:10.001Z'));
    expect(await s.tick()).toHaveLength(2);
    // Every scheduler down from 00:00:10 to 00:01:07.
    clock.set(at('2025-01-01T00:01:07.000Z'));
    const recovered = await s.tick();
    expect(recovered.map((f) => [f.id, f.fireTime.toISOString()])).toEqual([['last', '2025-01-01T00:01:00.000Z']]);
    expect(log.warnings.some((w) => w.includes('"none"') && w.includes('missed ticks'))).toBe(true);
    clock.set(at('2025-01-01T00:01:10.001Z'));
    expect((await s.tick()).map((f) => [f.id, f.fireTime.toISOString()]).sort()).toEqual([
      ['last', '2025-01-01T00:01:10.000Z'],
      ['none', '2025-01-01T00:01:10.000Z'],
    ]);
  });

  it('late ticks within misfireGrace each fire', async () => {
    const clock = new SimulatedClock(at('2025-01-01T00:00:00.000Z'));
    const s = make({ clock, misfireGrace: '5s' });
    await s.register('@every 1s', 'x', null, { id: 'e' });
    await s.refresh();
    clock.set(at('2025-01-01T00:00:03.500Z')); // stalled 3.5 s
    expect((await s.tick()).map((f) => f.fireTime.toISOString())).toEqual([
      '2025-01-01T00:00:01.000Z',
      '2025-01-01T00:00:02.000Z',
      '2025-01-01T00:00:03.000Z',
    ]);
  });

  it('rejects bad input with a typed error and stores nothing', async () => {
    const s = make();
    const cases: [() => Promise<unknown>, new (...args: never[]) => Error, RegExp][] = [
      [() => s.register('61 * * * *', 'x', null), InvalidCronspecError, /"61 \* \* \* \*"/],
      [() => s.register('not a cron', 'x', null), InvalidCronspecError, /"not a cron"/],
      [() => s.register('@every 100ms', 'x', null), InvalidCronspecError, /at least 1s/],
      [() => s.register('@every often', 'x', null), InvalidCronspecError, /"often"/],
      [() => s.register('* * * * *', 'x', null, { tz: 'Not/AZone' }), InvalidOptionError, /Not\/AZone/],
      [() => s.register('* * * * *', '', null), InvalidOptionError, /type/],
      [() => s.register('* * * * *', 'x', null, { queue: 'bad queue!' }), InvalidOptionError, /queue/],
      [() => s.register('* * * * *', 'x', null, { maxRetry: -1 }), InvalidOptionError, /maxRetry/],
      [() => s.register('* * * * *', 'x', null, { taskId: 'fixed' }), InvalidOptionError, /taskId/],
      [() => s.register('* * * * *', 'x', null, { unique: '1m' }), InvalidOptionError, /unique/],
      [() => s.register('* * * * *', 'x', null, { id: '' }), InvalidOptionError, /id/],
      [() => s.register('* * * * *', 'x', 10n), InvalidOptionError, /payload/],
      [() => s.register('* * * * *', 'x', null, { catchUp: 'all' as 'last' }), InvalidOptionError, /catchUp/],
    ];
    for (const [call, type, message] of cases) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, String(message)).toBeInstanceOf(type);
      expect((err as Error).message).toMatch(message);
    }
    expect(await s.list()).toEqual([]);
    expect(await tq.probe.isEmpty()).toBe(true);
  });

  it('sync(source) upserts the source entries and removes those that are gone', async () => {
    const s = make();
    await s.register('@hourly', 'manual', null, { id: 'manual' });
    const first = await s.sync('file', [
      { cronspec: '@daily', type: 'a', options: { id: 'a' } },
      { cronspec: '@weekly', type: 'b', payload: { x: 1 } },
    ]);
    expect(first.removed).toEqual([]);
    expect(first.ids).toHaveLength(2);
    const second = await s.sync('file', [{ cronspec: '@monthly', type: 'a', options: { id: 'a' } }]);
    expect(second).toEqual({ ids: ['a'], removed: [first.ids[1]] });
    const list = await s.list();
    expect(list.map((e) => [e.id, e.spec, e.source])).toEqual([
      ['a', '@monthly', 'file'],
      ['manual', '@hourly', undefined],
    ]);
    // An invalid entry anywhere in the list: nothing changes.
    await expect(
      s.sync('file', [
        { cronspec: '@daily', type: 'c' },
        { cronspec: 'nope', type: 'd' },
      ]),
    ).rejects.toThrow(/entries\[1\]: invalid cronspec "nope"/);
    expect((await s.list()).map((e) => e.id)).toEqual(['a', 'manual']);
  });

  it('a started scheduler learns of entries registered elsewhere at once and fires them on time', async () => {
    const fired: { id: string; lateness: number }[] = [];
    const running = make({
      onFire: (e) => fired.push({ id: e.id, lateness: e.enqueuedAt.getTime() - e.fireTime.getTime() }),
    });
    await running.start();
    const admin = make();
    await admin.register('@every 1s', 'x', null, { id: 'live' });
    await waitFor(() => fired.length >= 2, 'two ticks of the entry registered by another process', 5_000);
    expect(fired.every((f) => f.id === 'live' && f.lateness < 200)).toBe(true);
    await admin.unregister('live');
    const count = fired.length;
    const changed = await waitFor(async () => (await running.list()).length === 0, 'entry removed');
    expect(changed).toBe(true);
    // A full tick period after the removal was announced, nothing more fired (the reload happens ~20 ms after).
    await new Promise((r) => setTimeout(r, 1200));
    expect(fired.length).toBeLessThanOrEqual(count + 1);
  });
});

/** Entries written by hand into Redis. */
describe('TaskScheduler on Redis: corrupt entries', () => {
  const tq = useTaskq('sched-redis');
  const schedulers: TaskScheduler[] = [];
  const make = (options: Partial<SchedulerOptions> = {}): TaskScheduler => {
    const s = new TaskScheduler({ connection: tq.connection, prefix: tq.prefix, logger: captureLog(), ...options });
    schedulers.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.shutdown()));
  });

  it('skips a corrupt entry with an error log and keeps firing the others', async () => {
    const clock = new SimulatedClock(at('2025-01-01T00:00:00.000Z'));
    const log = captureLog();
    const s = make({ clock, logger: log });
    await s.register('@every 1s', 'good', null, { id: 'good' });
    await s.register('@every 1s', 'bad', null, { id: 'bad' });
    await s.register('@every 1s', 'bad2', null, { id: 'bad2' });
    const keys = new QueueKeys(tq.prefix, 'default');
    await tq.admin.hset(keys.cronEntries, 'bad', '{not json');
    await tq.admin.hset(keys.cronState, 'bad2', 'garbage');
    await s.refresh();
    clock.set(at('2025-01-01T00:00:01.001Z'));
    expect((await s.tick()).map((f) => f.id)).toEqual(['good']);
    expect(log.errors).toHaveLength(2);
    expect(log.errors.join('\n')).toMatch(/"bad".*not JSON/);
    expect(log.errors.join('\n')).toMatch(/"bad2".*fire state/);
    expect((await s.list()).map((e) => e.id)).toEqual(['good']);
    await s.refresh(); // logged once, not on every reload
    expect(log.errors).toHaveLength(2);
  });
});
