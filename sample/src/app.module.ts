import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TaskqModule } from '../../lib/nest/index.js';
import { DemoProgress } from './demo-progress.service.js';
import { SignupController } from './signup.controller.js';
import { TasksController } from './tasks.controller.js';

/** Prefix of every key the sample writes (so it can share a Redis with other apps). */
export const SAMPLE_PREFIX = process.env.TASKQ_PREFIX ?? 'taskq-sample';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true }),
    // The producer side: TaskqClient injectable everywhere, options from ConfigService.
    TaskqModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        connection: config.getOrThrow<string>('REDIS_URL'),
        prefix: config.get<string>('TASKQ_PREFIX') ?? SAMPLE_PREFIX,
      }),
    }),
  ],
  controllers: [SignupController, TasksController],
  providers: [DemoProgress],
})
export class AppModule {}
