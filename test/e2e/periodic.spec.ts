import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskScheduler } from '../../lib/core/periodic/scheduler.js';
import { PeriodicTask, TaskHandler, TaskqContext } from '../../lib/nest/index.js';
import { backends } from '../helpers/taskq.js';
import { waitFor } from '../helpers/wait.js';
import { startHarness, type Harness } from './nest-harness.js';

const ticks: { payload: unknown; headers: Record<string, string> }[] = [];
const adhoc: unknown[] = [];

@Controller()
class CronTasks {
  @TaskHandler('stats:refresh')
  @PeriodicTask('@every 1s', { id: 'stats-every-second', payload: { scope: 'all' } })
  refresh(@Payload() payload: unknown, @Ctx() ctx: TaskqContext) {
    ticks.push({ payload, headers: ctx.getHeaders() });
  }

  @PeriodicTask('@every 1h', { id: 'decorator-order' })
  @TaskHandler('stats:hourly')
  hourly() {
    return 'hourly';
  }

  @TaskHandler('stats:adhoc')
  adhoc(@Payload() payload: unknown) {
    adhoc.push(payload);
  }
}

describe.each(backends)('periodic tasks (%s)', (backend) => {
  let h: Harness;
  let scheduler: TaskScheduler;
  beforeAll(async () => {
    // The handlers record into module-level lists: each backend starts from empty ones.
    ticks.length = 0;
    adhoc.length = 0;
    h = await startHarness('periodic', [CronTasks], { backend });
    scheduler = new TaskScheduler({ connection: h.connection, prefix: h.prefix });
  });
  afterAll(async () => {
    await scheduler.shutdown();
    await h.close();
  });

  it('@PeriodicTask entries are registered on listen (either decorator order) and fire', async () => {
    const ids = (await scheduler.list()).map((e) => e.id).sort();
    expect(ids).toEqual(['decorator-order', 'stats-every-second']);
    await waitFor(() => ticks.length >= 1, 'a periodic tick', 5_000);
    expect(ticks[0].payload).toEqual({ scope: 'all' });
  });

  it('newPeriodicTask / removePeriodicTask register and remove entries', async () => {
    const id = await h.client.newPeriodicTask('@every 1s', 'stats:adhoc', { n: 1 }, { id: 'adhoc' });
    expect(id).toBe('adhoc');
    await waitFor(() => adhoc.length >= 1, 'the ad-hoc periodic task to fire', 5_000);
    expect(await h.client.removePeriodicTask('adhoc')).toBe(true);
    expect(await h.client.removePeriodicTask('adhoc')).toBe(false);
    expect((await scheduler.list()).map((e) => e.id)).not.toContain('adhoc');
  });
});
