import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { describe, expect, it } from 'vitest';
import { chord, InvalidOptionError, task } from '../../lib/core/index.js';
import { TaskHandler, TaskqContext } from '../../lib/nest/index.js';
import { startHarness } from './nest-harness.js';

const seen: { workflowId?: string; previous?: unknown }[] = [];

@Controller()
class ImageTasks {
  @TaskHandler('img:resize')
  resize(@Payload() size: number, @Ctx() ctx: TaskqContext) {
    seen.push({ workflowId: ctx.getWorkflowId() });
    return `img@${size}`;
  }

  @TaskHandler('img:record')
  record(@Ctx() ctx: TaskqContext) {
    seen.push({ workflowId: ctx.getWorkflowId(), previous: ctx.getPrevious() });
    return { stored: ctx.getPrevious<string[]>()?.length };
  }

  @TaskHandler('order', { step: 0 })
  reserve(@Payload() order: { id: string }) {
    return `${order.id}:reserved`;
  }

  @TaskHandler('order', { step: 2 })
  ship(@Ctx() ctx: TaskqContext) {
    return `${ctx.getPrevious<string>()}:shipped`;
  }

  @TaskHandler('order', { step: 1 })
  charge(@Ctx() ctx: TaskqContext) {
    return `${ctx.getPrevious<string>()}:charged`;
  }
}

@Controller()
class DuplicateStep {
  @TaskHandler('x', { step: 0 })
  a() {}

  @TaskHandler('x', { step: 0 })
  b() {}
}

@Controller()
class MissingStep {
  @TaskHandler('y', { step: 0 })
  a() {}

  @TaskHandler('y', { step: 2 })
  c() {}
}

describe('workflows through Nest', () => {
  it('newWorkflow runs a chord through @TaskHandler methods; ctx.getPrevious/getWorkflowId; handler-chain steps', async () => {
    const h = await startHarness('wf-nest', [ImageTasks]);
    try {
      const info = await h.client.newWorkflow(
        chord(
          [100, 200, 300].map((s) => task('img:resize', s)),
          task('img:record'),
        ),
      );
      expect(await h.client.waitForWorkflow(info.id, { timeout: '10s' })).toEqual({ stored: 3 });
      expect(seen.filter((s) => s.workflowId === info.id)).toHaveLength(4);
      expect(seen.at(-1)?.previous).toEqual(['img@100', 'img@200', 'img@300']);
      const order = await h.client.newTask('order', { id: 'A-1' }, { retention: '1m' });
      expect(await h.client.waitForResult(order.id, { timeout: '10s' })).toBe('A-1:reserved:charged:shipped');
    } finally {
      await h.close();
    }
  });

  it('a duplicate or missing step fails listen() naming the methods', async () => {
    await expect(startHarness('wf-dup', [DuplicateStep])).rejects.toThrow(/DuplicateStep\.a and DuplicateStep\.b/);
    const err = await startHarness('wf-missing', [MissingStep]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toMatch(/MissingStep\.a \(step 0\), MissingStep\.c \(step 2\); step 1 is missing/);
  });
});
