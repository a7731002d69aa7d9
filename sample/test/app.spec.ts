import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TaskqTestHarness, TaskqTestingModule } from '../../lib/testing/index.js';
import { pointRedisUrlNowhere } from '../../test/helpers/no-redis.js';
import { AppModule } from '../src/app.module.js';
import { DemoProgress } from '../src/demo-progress.service.js';
import { SignupController } from '../src/signup.controller.js';

/**
 * The sample's own tests, on the testing kit: the real AppModule (its TaskqModule.forRootAsync options, queues and
 * retry policy), its tasks in memory, time moved by the harness. No Redis: REDIS_URL points where nothing answers,
 * and nothing tries.
 */
describe('the sample app on the testing kit', () => {
  let noRedis: Awaited<ReturnType<typeof pointRedisUrlNowhere>>;
  let app: INestApplication;
  let taskq: TaskqTestHarness;
  let url: string;

  beforeAll(async () => {
    noRedis = await pointRedisUrlNowhere();
    process.env.TASKQ_PREFIX = 'sample-test';
    const moduleRef = await TaskqTestingModule.override(Test.createTestingModule({ imports: [AppModule] })).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    taskq = TaskqTestHarness.connect(app);
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await app.close();
    expect(noRedis.connections).toBe(0);
    await noRedis.restore();
    delete process.env.TASKQ_PREFIX;
  });
  afterEach(() => taskq.clear());

  /** What ran, without the periodic heartbeat (it fires whenever the clock crosses a 2 s mark). */
  const work = async () => (await taskq.drain()).filter((t) => t.type !== 'stats:heartbeat');

  const post = async (path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  };

  it('signup (a producer, called directly) enqueues a welcome email now and a reminder in 2 s', async () => {
    const result = await app.get(SignupController).signup({ name: 'Ada', email: 'ada@example.com' });
    expect(result.reminderState).toBe('scheduled');
    const [welcome] = taskq.enqueued('email:welcome');
    expect(welcome).toMatchObject({ queue: 'critical', maxRetry: 5, payload: { email: 'ada@example.com' } });
    expect(welcome.headers['x-request-id']).toBe(result.userId);
    const [reminder] = taskq.enqueued('email:reminder');
    expect(reminder).toMatchObject({ queue: 'low', state: 'scheduled' });
    expect(reminder.nextProcessAt?.getTime()).toBe(taskq.clock.now() + 2_000);
  });

  it('the welcome email runs at once, the reminder once the clock has moved 2 s', async () => {
    await post('/signup', { name: 'Ada', email: 'ada@example.com' });
    expect((await work()).map((t) => t.type)).toEqual(['email:welcome']);
    await taskq.advance('2s');
    expect((await work()).map((t) => t.type)).toEqual(['email:reminder']);
  });

  it('an import with a valid payload runs; an invalid one is refused by the ValidationPipe and archived at once', async () => {
    const good = (await post('/import', { email: 'grace@example.com', age: 36 })).taskId as string;
    const bad = (await post('/import', { email: 'not-an-email', age: -1 })).taskId as string;
    const ran = await taskq.drain();
    expect(ran.find((t) => t.id === good)).toMatchObject({
      state: 'completed',
      result: { imported: 'grace@example.com' },
    });
    expect(ran.find((t) => t.id === bad)?.state).toBe('archived');
    expect(taskq.task(bad)).toMatchObject({ state: 'archived', retried: 0 });
    expect(taskq.task(bad)?.lastError).toMatch(/email must be an email; age must not be less than 0/);
  });

  it('a charge fails twice and succeeds on the third attempt, after the sample’s own back-off (200 ms, 400 ms)', async () => {
    const taskId = (await post('/orders/A-1/charge')).taskId as string;
    expect((await work()).map((t) => t.state)).toEqual(['retry']);
    await taskq.advance('199ms');
    expect(await work()).toEqual([]);
    await taskq.advance('1ms');
    expect((await work()).map((t) => t.state)).toEqual(['retry']);
    await taskq.advance('400ms');
    expect((await work()).map((t) => [t.state, t.retried, t.result])).toEqual([['completed', 2, { charged: 42 }]]);
    expect(taskq.task(taskId)).toMatchObject({ state: 'completed', retried: 2 });
  });

  it('GET /reports/:userId answers with the result of the report task (send())', async () => {
    const response = fetch(`${url}/reports/u-1`).then((r) => r.json());
    // The request waits on send(): let it enqueue, then run the task.
    while (taskq.enqueued('report:render').length === 0) await new Promise((r) => setTimeout(r, 1));
    await taskq.drain();
    expect(await response).toMatchObject({ userId: 'u-1', lines: 3 });
  });

  it('the heartbeat fires every 2 s of the clock, once per tick', async () => {
    await taskq.advance('6s');
    expect(taskq.enqueued('stats:heartbeat')).toHaveLength(3);
    expect((await taskq.drain()).filter((t) => t.type === 'stats:heartbeat')).toHaveLength(3);
    expect(app.get(DemoProgress)).toBeDefined();
  });
});
