/**
 * The testing kit's drain(): a Nest app on TaskqTestingModule (in memory, a simulated clock) with one no-op
 * @TaskHandler; N tasks enqueued with TaskqClient.newTasks (untimed), then `drain()` timed, as an e2e test runs it.
 * The first drain runs in a fresh process (what a test file sees); a few more show it warm.
 */
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TaskHandler } from '../../lib/nest/task-handler.decorator.js';
import { TaskqClient } from '../../lib/nest/taskq.client.js';
import { TaskqTestHarness, TaskqTestingModule } from '../../lib/testing/index.js';
import { round } from '../redis.js';
import { median, nowMs } from '../stats.js';
import type { WorkloadContext } from './context.js';

export interface KitDrainParams {
  tasks: number;
  /** Drains after the first (warm). */
  warmRounds: number;
}

export interface KitDrainResult {
  tasks: number;
  /** The first drain of the process. */
  firstMs: number;
  /** Median of the warm drains. */
  warmMs: number;
  warmPerRound: number[];
}

@Controller()
class NoopTasks {
  @TaskHandler('noop')
  noop(): void {}
}

export async function kitDrain(_ctx: WorkloadContext, p: KitDrainParams): Promise<KitDrainResult> {
  const moduleRef = await Test.createTestingModule({
    imports: [TaskqTestingModule.forRoot()],
    controllers: [NoopTasks],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  const taskq = TaskqTestHarness.connect(app);
  await app.init();
  const client = app.get(TaskqClient);
  const timed: number[] = [];
  try {
    for (let i = 0; i <= p.warmRounds; i++) {
      await client.newTasks(Array.from({ length: p.tasks }, (_, n) => ({ type: 'noop', payload: n })));
      const t0 = nowMs();
      const ran = await taskq.drain({ maxTasks: p.tasks });
      timed.push(nowMs() - t0);
      if (ran.length !== p.tasks || ran.some((r) => r.state !== 'completed')) {
        throw new Error(`kit drain: ${ran.length} of ${p.tasks} completed`);
      }
      taskq.clear();
    }
  } finally {
    await app.close();
  }
  const warm = timed.slice(1);
  return {
    tasks: p.tasks,
    firstMs: round(timed[0]!, 1),
    warmMs: round(warm.length ? median(warm) : timed[0]!, 1),
    warmPerRound: warm.map((t) => round(t, 1)),
  };
}
