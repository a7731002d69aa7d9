import {
  Body,
  Catch,
  Controller,
  Injectable,
  Module,
  Post,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Ctx, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { IsEmail, IsInt, Min } from 'class-validator';
import { lastValueFrom, map, throwError, type Observable } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  chord,
  defineTask,
  task,
  DrainLimitError,
  InvalidOptionError,
  InvalidStateError,
  NoHandlerError,
  SkipRetryError,
} from '../../lib/core/index.js';
import {
  PeriodicTask,
  TaskHandler,
  TaskqClient,
  TaskqContext,
  TaskqModule,
  TaskqServer,
  TaskRecord,
} from '../../lib/nest/index.js';
import { SimulatedClock, TaskqTestHarness, TaskqTestingModule } from '../../lib/testing/index.js';
import { pointRedisUrlNowhere } from '../helpers/no-redis.js';

class WelcomeDto {
  @IsInt()
  @Min(1)
  userId!: number;

  @IsEmail()
  email!: string;
}

const Welcome = defineTask<WelcomeDto, { sent: boolean }>('email:welcome', { queue: 'mail', maxRetry: 5 });
const Resize = defineTask<{ size: number }, string>('images:resize', { queue: 'mail' });
const Report = defineTask<{ userId: number }, { userId: number; lines: number }>('report:render', { maxRetry: 0 });

/** What the handlers saw, in order. */
const seen: string[] = [];

@Injectable()
class TenantGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToRpc().getContext<TaskqContext>().getHeaders().tenant !== 'blocked';
  }
}

@Injectable()
class StampInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((value) => ({ stamped: value })));
  }
}

class QuotaError extends Error {}

@Catch(QuotaError)
class QuotaFilter implements ExceptionFilter {
  catch(exception: QuotaError): Observable<never> {
    return throwError(() => new SkipRetryError(`quota: ${exception.message}`));
  }
}

@Controller()
class Tasks {
  constructor(private readonly tasks: TaskqClient) {}

  @TaskHandler(Welcome)
  @UsePipes(new ValidationPipe({ transform: true }))
  @UseGuards(TenantGuard)
  async welcome(@Payload() dto: WelcomeDto, @Ctx() ctx: TaskqContext) {
    seen.push(`welcome ${dto.email} (${dto.constructor.name}, ${ctx.getQueue()})`);
    // A follow-up, enqueued by the handler: the same drain() runs it.
    await this.tasks.newTask('email:followup', { userId: dto.userId });
    return { sent: true };
  }

  @TaskHandler('email:followup')
  followup(@Payload() p: { userId: number }) {
    seen.push(`followup ${p.userId}`);
  }

  @TaskHandler('email:reminder')
  reminder(@Payload() p: { userId: number }) {
    seen.push(`reminder ${p.userId}`);
  }

  @TaskHandler('payment:charge')
  charge(@Ctx() ctx: TaskqContext) {
    if (ctx.getRetryCount() < 2) throw new Error(`gateway timeout (attempt ${ctx.getRetryCount() + 1})`);
    return { charged: true };
  }

  @TaskHandler('stamped')
  @UseInterceptors(StampInterceptor)
  stamped(@Payload() n: number) {
    return n * 2;
  }

  @TaskHandler('over-quota')
  @UseFilters(QuotaFilter)
  overQuota() {
    throw new QuotaError('3 of 3 used');
  }

  @TaskHandler(Report)
  render(@Payload() p: { userId: number }) {
    return { userId: p.userId, lines: 3 };
  }

  @TaskHandler('loop')
  async loop(@Payload() n: number) {
    await this.tasks.newTask('loop', n + 1);
  }

  @TaskHandler('noop')
  noop() {}

  @TaskHandler(Resize)
  resize(@Payload() p: { size: number }) {
    return `img@${p.size}`;
  }

  @TaskHandler('images:record')
  record(@Ctx() ctx: TaskqContext) {
    seen.push(`record ${JSON.stringify(ctx.getPrevious())} (${ctx.getWorkflowId() ?? 'none'})`);
    return (ctx.getPrevious() as string[]).length;
  }
}

@Controller()
class Heartbeats {
  @TaskHandler('stats:heartbeat')
  @PeriodicTask('@every 1m', { id: 'heartbeat' })
  heartbeat(@Ctx() ctx: TaskqContext) {
    seen.push(`heartbeat ${ctx.getHeaders()['taskq-fire-time']}`);
  }
}

/** A producer, as an app has them: a service that enqueues. */
@Injectable()
class SignupService {
  constructor(private readonly tasks: TaskqClient) {}

  async signup(userId: number, email: string) {
    const welcome = await this.tasks.newTask(Welcome, { userId, email });
    await this.tasks.newTask('email:reminder', { userId }, { processIn: '10m' });
    return welcome.id;
  }
}

@Controller()
class SignupController {
  constructor(private readonly signups: SignupService) {}

  @Post('signup')
  async signup(@Body() body: { userId: number; email: string }) {
    return { taskId: await this.signups.signup(body.userId, body.email) };
  }
}

let noRedis: Awaited<ReturnType<typeof pointRedisUrlNowhere>>;
beforeAll(async () => {
  noRedis = await pointRedisUrlNowhere();
});
afterAll(async () => {
  // Nothing in this file tried to reach Redis, not even through the REDIS_URL default.
  expect(noRedis.connections).toBe(0);
  await noRedis.restore();
});

describe('the testing kit: a producer service, unit-tested', () => {
  it('captures what a service enqueues, with the definition defaults and a typed payload', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TaskqTestingModule.forRoot()],
      providers: [SignupService],
    }).compile();
    const taskq = TaskqTestHarness.connect(moduleRef);
    const id = await moduleRef.get(SignupService).signup(7, 'ada@example.com');
    expect(taskq.enqueued().map((t) => [t.type, t.queue, t.state])).toEqual([
      ['email:welcome', 'mail', 'pending'],
      ['email:reminder', 'default', 'scheduled'],
    ]);
    expect(taskq.enqueued('email:welcome')[0]).toMatchObject({ id, payload: { userId: 7 }, maxRetry: 5 });
    expect(taskq.enqueued('email:reminder')[0].nextProcessAt?.getTime()).toBe(taskq.clock.now() + 600_000);
    // Without an app there is no server to run them on.
    await expect(taskq.drain()).rejects.toBeInstanceOf(InvalidStateError);
    await moduleRef.close();
  });

  it('refuses an app that is not on the kit', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TaskqModule.forRoot({ connection: 'memory://not-the-kit' })],
    }).compile();
    expect(() => TaskqTestHarness.connect(moduleRef)).toThrow(InvalidStateError);
    expect(() => TaskqTestHarness.connect(moduleRef)).toThrow(/TaskqTestingModule\.forRoot\(\)/);
    await moduleRef.close();
  });
});

describe('the testing kit: handlers end to end', () => {
  let app: INestApplication;
  let taskq: TaskqTestHarness;
  let client: TaskqClient;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TaskqTestingModule.forRoot({
          clock: new SimulatedClock(Date.UTC(2030, 0, 1, 12, 0, 0)),
          server: { queues: ['default', 'mail'] },
        }),
      ],
      controllers: [Tasks, SignupController],
      providers: [SignupService],
    }).compile();
    app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
    taskq = TaskqTestHarness.connect(app);
    await app.init();
    client = app.get(TaskqClient);
  });
  afterAll(async () => {
    await app.close();
  });
  afterEach(() => {
    seen.length = 0;
    taskq.clear();
  });

  it('runs an HTTP request’s tasks through guards and pipes, with the follow-ups a handler enqueues', async () => {
    await app.listen(0, '127.0.0.1');
    const res = await fetch(`${await app.getUrl()}/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 1, email: 'ada@example.com' }),
    });
    const { taskId } = (await res.json()) as { taskId: string };
    // Nothing ran yet: the kit runs tasks in drain() only.
    expect(seen).toEqual([]);
    expect(taskq.task(taskId)?.state).toBe('pending');
    const ran = await taskq.drain();
    expect(ran.map((r) => [r.type, r.state])).toEqual([
      ['email:welcome', 'completed'],
      ['email:followup', 'completed'],
    ]);
    expect(ran[0].result).toEqual({ sent: true });
    expect(seen).toEqual(['welcome ada@example.com (WelcomeDto, mail)', 'followup 1']);
    // Deleted on completion (no retention), still readable here with its result.
    expect(taskq.task(taskId)).toMatchObject({ state: 'completed', result: { sent: true } });
    // The reminder (processIn '10m') waits for the clock.
    expect(taskq.enqueued('email:reminder')).toHaveLength(1);
    await taskq.advance('9m');
    expect(await taskq.drain()).toEqual([]);
    await taskq.advance('1m');
    expect((await taskq.drain()).map((r) => r.type)).toEqual(['email:reminder']);
    expect(seen).toContain('reminder 1');
  });

  it('a ValidationPipe refusal and a guard refusal archive at once, never retried', async () => {
    const invalid = await client.newTask(Welcome, { userId: 0, email: 'not-an-email' });
    const blocked = await client.newTask(
      Welcome,
      { userId: 2, email: 'b@example.com' },
      { headers: { tenant: 'blocked' } },
    );
    const ran = await taskq.drain();
    expect(ran.map((r) => r.state)).toEqual(['archived', 'archived']);
    expect(ran.find((r) => r.id === invalid.id)?.error?.message).toMatch(
      /userId must not be less than 1.*email must be an email/,
    );
    expect(ran.find((r) => r.id === blocked.id)?.error?.message).toBe('Forbidden resource');
    expect(taskq.task(invalid.id)).toMatchObject({ state: 'archived', retried: 0 });
    expect(seen).toEqual([]);
  });

  it('an interceptor shapes the result; an exception filter turns an error into an archive', async () => {
    const stamped = await client.newTask('stamped', 21);
    const quota = await client.newTask('over-quota', null);
    const ran = await taskq.drain();
    expect(ran.find((r) => r.id === stamped.id)).toMatchObject({ state: 'completed', result: { stamped: 42 } });
    expect(ran.find((r) => r.id === quota.id)).toMatchObject({ state: 'archived' });
    expect(ran.find((r) => r.id === quota.id)?.error?.message).toBe('quota: 3 of 3 used');
    expect(taskq.task(quota.id)).toMatchObject({ state: 'archived', lastError: 'quota: 3 of 3 used', retried: 0 });
  });

  it('a handler that fails twice retries by the real back-off, moved by advance()', async () => {
    const { id } = await client.newTask('payment:charge', { orderId: 'A-1' }, { maxRetry: 5 });
    expect((await taskq.drain()).map((r) => [r.state, r.retried])).toEqual([['retry', 0]]);
    // The default retry delay is 1 s (with jitter) after the first failure, 2 s after the second.
    expect(taskq.task(id)).toMatchObject({ state: 'retry', retried: 1, lastError: 'gateway timeout (attempt 1)' });
    expect(await taskq.drain()).toEqual([]);
    await taskq.advance('1s');
    expect((await taskq.drain()).map((r) => [r.state, r.retried])).toEqual([['retry', 1]]);
    await taskq.advance('2s');
    const last = await taskq.drain();
    expect(last.map((r) => [r.state, r.retried])).toEqual([['completed', 2]]);
    expect(last[0].result).toEqual({ charged: true });
  });

  it('send() resolves with the handler’s result once drain() runs it', async () => {
    const result = lastValueFrom(client.send(Report, { userId: 7 }));
    const emitted = await lastValueFrom(client.emit(Report, new TaskRecord({ userId: 8 }, { headers: { a: 'b' } })));
    expect(emitted).toMatchObject({ type: 'report:render', maxRetry: 0, headers: { a: 'b' } });
    await taskq.drain();
    expect(await result).toEqual({ userId: 7, lines: 3 });
  });

  it('a chord runs within one drain(): members (a definition with its default queue), then the callback once', async () => {
    const wf = await client.newWorkflow(
      chord(
        [64, 128, 256].map((size) => task(Resize, { size })),
        task('images:record'),
      ),
      { id: 'album-1' },
    );
    expect(wf.tasks.map((t) => [t.type, t.queue, t.state])).toEqual([
      ['images:resize', 'mail', 'pending'],
      ['images:resize', 'mail', 'pending'],
      ['images:resize', 'mail', 'pending'],
      ['images:record', 'default', 'waiting'],
    ]);
    const ran = await taskq.drain();
    expect(ran.map((r) => r.type)).toEqual(['images:resize', 'images:resize', 'images:resize', 'images:record']);
    expect(seen).toEqual(['record ["img@64","img@128","img@256"] (album-1)']);
    expect(await client.getWorkflow('album-1')).toMatchObject({ state: 'completed', result: 3 });
  });

  it('a task without a handler fails as on Redis: NoHandlerError, retried, then archived', async () => {
    const { id } = await client.newTask('nobody:handles', { a: 1 }, { maxRetry: 1 });
    const [first] = await taskq.drain();
    expect(first.state).toBe('retry');
    expect(first.error).toBeInstanceOf(NoHandlerError);
    expect(first.error?.message).toBe('no handler for task type "nobody:handles"');
    expect(taskq.task(id)).toMatchObject({ state: 'retry', lastError: 'no handler for task type "nobody:handles"' });
    await taskq.advance('5s');
    const [second] = await taskq.drain();
    expect(second.state).toBe('archived');
    expect(taskq.task(id)).toMatchObject({ state: 'archived', retried: 1 });
  });

  it('a handler that enqueues without end stops the drain at maxTasks, naming the type', async () => {
    await client.newTask('loop', 0);
    const err = await taskq.drain({ maxTasks: 20 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DrainLimitError);
    expect((err as DrainLimitError).code).toBe('DRAIN_LIMIT');
    expect((err as DrainLimitError).types).toEqual([{ type: 'loop', count: expect.any(Number) }]);
    expect((err as Error).message).toMatch(/ran more than 20 tasks \(maxTasks\).*loop \(2\d\)/);
    // It stopped: the next loop task waits, nothing runs outside drain().
    expect(taskq.enqueued('loop').length).toBeLessThan(30);
  });

  it('refuses bad input with typed errors', async () => {
    for (const bad of [-1, 'soon', '1 day', Number.NaN]) {
      const err = await taskq.advance(bad).catch((e: unknown) => e);
      expect(err, String(bad)).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).field).toBe('duration');
    }
    for (const maxTasks of [0, -3, 1.5]) {
      const err = await taskq.drain({ maxTasks }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).field).toBe('maxTasks');
    }
  });

  it('clear() forgets what was enqueued and deletes what waits', async () => {
    const waiting = await client.newTask('noop', null);
    await client.newTask('noop', null, { processIn: '1h' });
    expect(taskq.enqueued()).toHaveLength(2);
    taskq.clear();
    expect(taskq.enqueued()).toEqual([]);
    expect(taskq.task(waiting.id)).toBeUndefined();
    await taskq.advance('1h');
    expect(await taskq.drain()).toEqual([]);
  });

  it('drains 1,000 tasks in well under a second', async () => {
    await client.newTasks(Array.from({ length: 1000 }, (_, i) => ({ type: 'noop', payload: i })));
    const t0 = performance.now();
    const ran = await taskq.drain({ maxTasks: 1000 });
    const ms = performance.now() - t0;
    expect(ran).toHaveLength(1000);
    expect(ran.every((r) => r.state === 'completed')).toBe(true);
    expect(ms).toBeLessThan(1000);
  });
});

describe('the testing kit: periodic tasks', () => {
  it('an entry registered through TaskqClient.newPeriodicTask fires as the clock moves', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TaskqTestingModule.forRoot({ clock: new SimulatedClock(Date.UTC(2030, 0, 1, 12, 0, 30)) })],
      controllers: [Heartbeats],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    const taskq = TaskqTestHarness.connect(app);
    await app.init();
    const id = await app.get(TaskqClient).newPeriodicTask('@every 5m', 'stats:heartbeat', null, { id: 'five' });
    await taskq.advance('10m');
    const fives = taskq.enqueued('stats:heartbeat').filter((t) => t.headers['taskq-periodic-id'] === id);
    expect(fives.map((t) => t.headers['taskq-fire-time'])).toEqual([
      '2030-01-01T12:05:00.000Z',
      '2030-01-01T12:10:00.000Z',
    ]);
    expect(await app.get(TaskqClient).removePeriodicTask(id)).toBe(true);
    await app.close();
    seen.length = 0;
  });

  it('a periodic task fires once per tick as the clock moves', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TaskqTestingModule.forRoot({ clock: new SimulatedClock(Date.UTC(2030, 0, 1, 12, 0, 30)) })],
      controllers: [Heartbeats],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    const taskq = TaskqTestHarness.connect(app);
    await app.init();
    // Every tick of '@every 1m' on the way (12:01, 12:02, 12:03) is enqueued once, then run.
    expect(await taskq.drain()).toEqual([]);
    await taskq.advance('3m');
    expect(taskq.enqueued('stats:heartbeat')).toHaveLength(3);
    const ran = await taskq.drain();
    expect(ran.filter((r) => r.type === 'stats:heartbeat')).toHaveLength(3);
    expect(seen).toEqual([
      'heartbeat 2030-01-01T12:01:00.000Z',
      'heartbeat 2030-01-01T12:02:00.000Z',
      'heartbeat 2030-01-01T12:03:00.000Z',
    ]);
    seen.length = 0;
    await app.close();
  });
});

/** An app module as a real app writes it: TaskqModule from ConfigService. */
@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ TASKQ_QUEUES: 'mail,default' })] }),
    TaskqModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        connection: process.env.REDIS_URL,
        server: { queues: config.getOrThrow<string>('TASKQ_QUEUES').split(','), concurrency: 3 },
      }),
    }),
  ],
  controllers: [Tasks],
})
class AppModule {}

describe('the testing kit on an app’s real module tree (override)', () => {
  it('keeps the app’s own options, replaces the connection, and runs its handlers', async () => {
    const moduleRef = await TaskqTestingModule.override(Test.createTestingModule({ imports: [AppModule] })).compile();
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    const taskq = TaskqTestHarness.connect(app);
    await app.init();
    const server = app.get(TaskqServer);
    expect(server.configuration.connection).toMatch(/^memory:\/\/taskq-testing-/);
    expect(server.unwrap<{ options: { concurrency: number } }>().options.concurrency).toBe(3);
    await app.get(TaskqClient).newTask(Welcome, { userId: 3, email: 'c@example.com' });
    const ran = await taskq.drain();
    expect(ran.map((r) => [r.type, r.queue, r.state])).toEqual([
      ['email:welcome', 'mail', 'completed'],
      ['email:followup', 'default', 'completed'],
    ]);
    await app.close();
  });
});
