/**
 * nestjs-taskq through the Nest transport: a microservice with TaskqServer (default options except concurrency) and
 * one no-op `@TaskHandler` on a controller. Producing goes through the core TaskClient, as for the core adapter.
 */
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Payload } from '@nestjs/microservices';
import { TaskHandler } from '../../lib/nest/task-handler.decorator.js';
import { TaskqServer } from '../../lib/nest/taskq.server.js';
import { TASKQ_PREFIX, taskqLeftover, taskqProducer, taskqSettle } from './taskq.js';
import { TASK_TYPE, type Adapter, type Consumer, type WorkerSpec } from './types.js';

/** The handler body of the current measurement (one worker per process at a time). */
let current: WorkerSpec['handler'] = async () => undefined;

@Controller()
class BenchTasks {
  @TaskHandler(TASK_TYPE)
  noop(@Payload() payload: unknown): Promise<unknown> {
    return current(payload);
  }
}

@Module({ controllers: [BenchTasks] })
class BenchModule {}

export function nestAdapter(url: string): Adapter {
  return {
    name: 'nest',
    producer: async (queue) => taskqProducer(url, queue),

    async worker(queue: string, spec: WorkerSpec): Promise<Consumer> {
      current = spec.handler;
      // Default options (the periodic scheduler runs, as in an app); BENCH_NEST_SCHEDULER=0 turns it off to compare.
      const scheduler = process.env.BENCH_NEST_SCHEDULER !== '0';
      const server = new TaskqServer({
        connection: url,
        prefix: TASKQ_PREFIX,
        concurrency: spec.concurrency,
        queues: [queue],
        scheduler,
      });
      if (spec.onCompleted) {
        const cb = spec.onCompleted;
        server.on('completed', () => cb());
      }
      server.on('error', (err: Error) => console.error('[bench nest server]', err));
      const app = await NestFactory.createMicroservice(BenchModule, { strategy: server, logger: ['error'] });
      await app.init();
      return {
        start: async () => {
          await app.listen();
        },
        close: () => app.close(),
      };
    },

    leftover: taskqLeftover,
    settle: taskqSettle,
  };
}
