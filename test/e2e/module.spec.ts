import { Controller, Inject, Injectable, Module, type Type } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, Payload, type ClientProxy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { TaskInspector, type TaskWorker } from '../../lib/core/index.js';
import { TaskHandler, TaskqClient, TaskqModule, TaskqServer } from '../../lib/nest/index.js';
import { cleanupPrefix, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('module');
const config = () => ({ REDIS_URL: testRedisUrl(), TASKQ_PREFIX: prefix, TASKQ_CONCURRENCY: 7 });

@Controller()
class MathTasks {
  @TaskHandler('math:square')
  square(@Payload() n: number) {
    return n * n;
  }
}

@Injectable()
class Producer {
  constructor(
    readonly tasks: TaskqClient,
    @Inject('TASKS') readonly viaClientsModule: ClientProxy,
  ) {}
}

@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true, load: [config] }),
    TaskqModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (c: ConfigService) => ({
        connection: c.getOrThrow<string>('REDIS_URL'),
        prefix: c.getOrThrow<string>('TASKQ_PREFIX'),
      }),
    }),
    ClientsModule.register([
      {
        name: 'TASKS',
        customClass: TaskqClient as Type<ClientProxy>,
        options: { connection: testRedisUrl(), prefix },
      },
    ]),
  ],
  controllers: [MathTasks],
  providers: [Producer],
})
class AppModule {}

describe('TaskqModule and DI-built servers', () => {
  afterAll(async () => {
    const redis = testRedis();
    await cleanupPrefix(redis, prefix);
    redis.disconnect();
  });

  it('forRootAsync with ConfigService, and createMicroservice with { inject: [ConfigService], useFactory }', async () => {
    const app = await NestFactory.createMicroservice(AppModule, {
      inject: [ConfigService],
      useFactory: (c: ConfigService) => ({
        strategy: new TaskqServer({
          connection: c.getOrThrow<string>('REDIS_URL'),
          prefix: c.getOrThrow<string>('TASKQ_PREFIX'),
          concurrency: c.getOrThrow<number>('TASKQ_CONCURRENCY'),
        }),
      }),
      logger: ['error', 'warn'],
    });
    try {
      await app.listen();
      expect(app.unwrap<TaskWorker>().options.concurrency).toBe(7);
      const producer = app.get(Producer);
      const info = await producer.tasks.newTask('math:square', 9);
      expect(info.type).toBe('math:square');
      expect(await lastValueFrom(producer.tasks.send('math:square', 12))).toBe(144);
      // The client really uses the configured prefix.
      const redis = testRedis();
      const keys = await redis.keys(`${prefix}:*`);
      redis.disconnect();
      expect(keys.length).toBeGreaterThan(0);
      // TaskqClient also works as a ClientsModule customClass.
      expect(await lastValueFrom(producer.viaClientsModule.send('math:square', 3))).toBe(9);
      // TaskInspector is provided too, on the same prefix.
      const inspector = app.get(TaskInspector);
      expect(await inspector.queues()).toContain('default');
      const later = await producer.tasks.newTask('math:square', 2, { processIn: '1h' });
      expect(await inspector.getTask(later.id)).toMatchObject({ type: 'math:square', state: 'scheduled' });
    } finally {
      await app.close();
    }
  });
});
