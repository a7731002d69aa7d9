import { Controller, Injectable, Module, type LoggerService } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidOptionError, TaskTimeoutError, type TaskWorker } from '../../lib/core/index.js';
import { TaskHandler, TaskqClient, TaskqContext, TaskqModule, TaskqServer, TaskRecord } from '../../lib/nest/index.js';
import { cleanupPrefix, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { waitForTaskState } from '../helpers/wait.js';

const prefix = uniquePrefix('first');

@Controller()
class Tasks {
  @TaskHandler('double')
  double(@Payload() n: number) {
    return n * 2;
  }

  @TaskHandler('never-answers')
  async never(@Ctx() ctx: TaskqContext) {
    await new Promise((r) => ctx.getSignal().addEventListener('abort', r));
  }
}

@Injectable()
class Producer {
  constructor(readonly tasks: TaskqClient) {}
}

@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ REDIS_URL: testRedisUrl(), PREFIX: prefix })] }),
    TaskqModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      // Unannotated, as the README writes it: `c` is typed by the factory's signature, not `never`.
      useFactory: (c) => ({
        connection: (c as ConfigService).getOrThrow<string>('REDIS_URL'),
        prefix: (c as ConfigService).getOrThrow<string>('PREFIX'),
        sendTimeout: '2s',
        server: { concurrency: 3, queues: { default: 1, other: 1 }, shutdownTimeout: '200ms' },
      }),
    }),
  ],
  controllers: [Tasks],
  providers: [Producer],
})
class AppModule {}

class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

describe('the first hour: one configuration, bounded RPC, a complete client', () => {
  afterAll(async () => {
    const redis = testRedis();
    await cleanupPrefix(redis, prefix);
    redis.disconnect();
  });

  it('the module owns the configuration and provides the server: app.get(TaskqServer)', async () => {
    const logger = new CapturingLogger();
    const app = await NestFactory.create(AppModule, { logger });
    try {
      app.connectMicroservice({ strategy: app.get(TaskqServer) });
      await app.startAllMicroservices();
      await app.init();
      const server = app.get(TaskqServer);
      expect(server.unwrap<TaskWorker>().options.concurrency).toBe(3);
      expect(server.configuration).toEqual({ connection: testRedisUrl().replace(/\/$/, ''), prefix });
      const tasks = app.get(Producer).tasks;
      expect(await lastValueFrom(tasks.send('double', 21))).toBe(42);
      expect(logger.warnings.filter((w) => /disagree/.test(w))).toEqual([]);

      // The client a service needs without unwrap(): newTasks, getTask, waitForResult, cancel.
      const [a, b] = await tasks.newTasks([
        { type: 'double', payload: 1, options: { retention: '1m' } },
        { type: 'double', payload: 2, options: { queue: 'other', processIn: '1h' } },
      ]);
      expect(await tasks.waitForResult(a.id, { timeout: '5s' })).toBe(2);
      expect(await tasks.getTask(b.id, 'other')).toMatchObject({ state: 'scheduled', payload: 2 });
      expect(await tasks.cancel(b.id, 'other')).toBe(true);
      expect(await tasks.getTask(b.id, 'other')).toBeNull();
      const done = await waitForTaskState(tasks, a.id, 'completed');
      expect(done.result).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('send() stops waiting after sendTimeout with TaskTimeoutError (module default, and per call)', async () => {
    const app = await NestFactory.create(AppModule, { logger: false });
    try {
      app.connectMicroservice({ strategy: app.get(TaskqServer) });
      await app.startAllMicroservices();
      const tasks = app.get(Producer).tasks;
      // A type nobody handles would retry for hours: send() gives up after the per-call timeout.
      const t0 = Date.now();
      const err = await lastValueFrom(tasks.send('nobody-handles-this', {})).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TaskTimeoutError);
      expect((err as Error).message).toMatch(/sendTimeout/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1_900);
      expect(Date.now() - t0).toBeLessThan(4_000);
      const t1 = Date.now();
      const perCall = await lastValueFrom(
        tasks.send('never-answers', new TaskRecord({}, { sendTimeout: '300ms' })),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(perCall).toBeInstanceOf(TaskTimeoutError);
      expect(Date.now() - t1).toBeLessThan(1_500);
    } finally {
      await app.close();
    }
  });

  it('a separate TaskqServer whose connection or prefix differ from the module is named in a warning', async () => {
    const logger = new CapturingLogger();
    const app = await NestFactory.create(AppModule, { logger });
    try {
      app.connectMicroservice({ strategy: new TaskqServer({ connection: testRedisUrl(), prefix: `${prefix}-other` }) });
      await app.init();
      const warning = logger.warnings.find((w) => /disagree/.test(w));
      expect(warning).toContain(`prefix: TaskqModule "${prefix}", TaskqServer "${prefix}-other"`);
      expect(warning).toContain('app.get(TaskqServer)');
    } finally {
      await app.close();
    }
  });

  it('a bad sendTimeout is refused when the client is built', () => {
    expect(() => new TaskqClient({ sendTimeout: 'soon' })).toThrow(InvalidOptionError);
    expect(() => new TaskqClient({ sendTimeout: 0 })).toThrow(/sendTimeout/);
  });
});
