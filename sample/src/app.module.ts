import { randomBytes } from 'node:crypto';
import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TaskqModule } from '../../lib/nest/index.js';
import { DemoProgress } from './demo-progress.service.js';
import { SignupController } from './signup.controller.js';
import { TasksController } from './tasks.controller.js';

/**
 * The prefix of every key the sample writes: `TASKQ_PREFIX`, else one of its own per run (`taskq-sample-<random>`),
 * so two runs on one Redis never see each other's tasks or periodic entries. Returns whether it was generated (a
 * generated prefix is deleted on exit). Sets `TASKQ_PREFIX`, which the module reads through ConfigService.
 */
export function choosePrefix(): { prefix: string; generated: boolean } {
  const given = process.env.TASKQ_PREFIX;
  const prefix = given ?? `taskq-sample-${randomBytes(3).toString('hex')}`;
  process.env.TASKQ_PREFIX = prefix;
  return { prefix, generated: given === undefined };
}

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true }),
    // One configuration for both sides, from ConfigService: the injectable TaskqClient (producers) and the TaskqServer
    // that main connects (consumers). Queues by weight; short retry delays so the demo is quick.
    TaskqModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        connection: config.getOrThrow<string>('REDIS_URL'),
        prefix: config.getOrThrow<string>('TASKQ_PREFIX'),
        server: {
          concurrency: 20,
          queues: { critical: 6, default: 3, low: 1 },
          retryDelay: (retried) => 200 * 2 ** retried,
        },
      }),
    }),
  ],
  controllers: [SignupController, TasksController],
  providers: [DemoProgress],
})
export class AppModule {}
