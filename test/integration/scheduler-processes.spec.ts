import { describe, expect, it, type TestContext } from 'vitest';
import { decodeMessage } from '../../lib/core/broker/codec.js';
import { QueueKeys } from '../../lib/core/broker/redis/keys.js';
import { TaskScheduler } from '../../lib/core/periodic/scheduler.js';
import { cleanupPrefix, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { spawnScheduler, type SchedulerProcess } from '../helpers/scheduler-processes.js';
import { waitFor } from '../helpers/wait.js';

const RUN_MS = 10_000;

/**
 * Three schedulers in three processes tick one `@every 1s` entry for 10 s. Counted by fire time (the
 * `taskq-fire-time` header of every task in the queue), each tick from the first one after registration to the
 * last one must appear exactly once.
 */
describe.concurrent('TaskScheduler across processes', () => {
  async function runThree(ctx: TestContext, killHalfway: boolean) {
    const prefix = uniquePrefix('sched-proc');
    const redis = testRedis();
    const procs: SchedulerProcess[] = [0, 1, 2].map(() => spawnScheduler(prefix, testRedisUrl()));
    const admin = new TaskScheduler({ connection: testRedisUrl(), prefix });
    ctx.onTestFinished(async () => {
      await Promise.all(procs.map((p) => p.kill()));
      await admin.shutdown();
      await cleanupPrefix(redis, prefix);
      redis.disconnect();
    });
    await Promise.all(procs.map((p) => p.ready));

    const registeredAt = Date.now();
    await admin.register('@every 1s', 'tick', null, { id: 'every-second' });
    const keys = new QueueKeys(prefix, 'default');
    const fireTimes = async (): Promise<number[]> =>
      Object.values(await redis.hgetall(keys.tasks)).map((raw) =>
        Date.parse(decodeMessage(raw).headers['taskq-fire-time']),
      );
    const reached = (ms: number) => async () => (await fireTimes()).some((t) => t >= ms);

    let killed: SchedulerProcess | undefined;
    if (killHalfway) {
      await waitFor(reached(registeredAt + RUN_MS / 2), 'ticks up to halfway', RUN_MS);
      // Kill the process that won the most ticks so far: the one most likely to be mid-tick.
      killed = [...procs].sort((a, b) => count(b) - count(a))[0];
      await killed.kill();
    }
    await waitFor(reached(registeredAt + RUN_MS), `ticks for ${RUN_MS} ms`, RUN_MS + 5_000);
    await Promise.all(procs.filter((p) => p !== killed).map((p) => p.stop()));

    const fires = (await fireTimes()).sort((a, b) => a - b);
    const first = Math.floor(registeredAt / 1000) * 1000 + 1000;
    const expected = Array.from({ length: (fires[fires.length - 1] - first) / 1000 + 1 }, (_, i) => first + i * 1000);
    // No duplicate and no gap: exactly the ticks from the first after registration to the last one.
    expect(fires.map((t) => new Date(t).toISOString())).toEqual(expected.map((t) => new Date(t).toISOString()));
    expect(fires.length).toBeGreaterThanOrEqual(RUN_MS / 1000);
    // Every task was reported by exactly one process as its win.
    const won = procs.flatMap((p) => p.events.filter((e) => e.event === 'fire').map((e) => e.fireTime));
    expect(won.sort((a, b) => a! - b!)).toEqual(fires);
    expect(procs.flatMap((p) => p.events.filter((e) => e.event === 'error'))).toEqual([]);
    return { procs, killed, fires };
  }

  const count = (p: SchedulerProcess) => p.events.filter((e) => e.event === 'fire').length;

  it('three scheduler processes on one @every 1s entry for 10 s: exactly one task per tick', async (ctx) => {
    const { procs } = await runThree(ctx, false);
    expect(procs.every((p) => p.events.some((e) => e.event === 'stopped'))).toBe(true);
  }, 30_000);

  it('one of the three processes killed with SIGKILL halfway: no tick missed or doubled', async (ctx) => {
    const { killed, fires } = await runThree(ctx, true);
    expect(killed).toBeDefined();
    expect(killed!.child.signalCode).toBe('SIGKILL');
    // The survivors kept ticking after the kill.
    const killedLast = Math.max(...killed!.events.filter((e) => e.event === 'fire').map((e) => e.fireTime!), 0);
    expect(fires.filter((t) => t > killedLast).length).toBeGreaterThanOrEqual(4);
  }, 30_000);
});
