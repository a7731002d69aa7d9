import { Body, Controller, Get, Param, Post, ValidationPipe } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { lastValueFrom } from 'rxjs';
import { chord, task } from '../../lib/core/index.js';
import { TaskqClient, TaskRecord } from '../../lib/nest/index.js';
import { SignupDto } from './dto.js';

/** The HTTP side: producers inject TaskqClient. */
@Controller()
export class SignupController {
  constructor(private readonly tasks: TaskqClient) {}

  /** Signs a user up: a welcome email now, a reminder later. */
  @Post('signup')
  async signup(@Body(new ValidationPipe()) dto: SignupDto) {
    const userId = randomUUID().slice(0, 8);
    const payload = { userId, email: dto.email };
    const welcome = await this.tasks.newTask('email:welcome', payload, {
      queue: 'critical',
      maxRetry: 5,
      headers: { 'x-request-id': userId },
    });
    const reminder = await this.tasks.newTask(
      'email:reminder',
      { ...payload, enqueuedAt: Date.now() },
      { processIn: '2s', queue: 'low' },
    );
    return { userId, welcomeTaskId: welcome.id, reminderTaskId: reminder.id, reminderState: reminder.state };
  }

  /** Enqueues a user import (the payload is validated by the task handler's ValidationPipe). */
  @Post('import')
  async import(@Body() body: unknown) {
    const info = await lastValueFrom(this.tasks.emit('user:import', new TaskRecord(body, { maxRetry: 3 })));
    return { taskId: info.id };
  }

  /** Enqueues a charge that fails twice, then succeeds. */
  @Post('orders/:id/charge')
  async charge(@Param('id') orderId: string) {
    const info = await this.tasks.newTask('payment:charge', { orderId, amount: 42 }, { maxRetry: 5 });
    return { taskId: info.id };
  }

  /** A workflow: the image resized to three sizes in parallel (a group), then recorded once (the chord's callback). */
  @Post('images/:name')
  async images(@Param('name') image: string) {
    const flow = chord(
      [320, 640, 1280].map((width) => task('image:resize', { image, width })),
      task('image:record', { image }),
    );
    const info = await this.tasks.newWorkflow(flow);
    return { workflowId: info.id, tasks: info.tasks.map((t) => `${t.type}:${t.state}`) };
  }

  /** RPC style: the response is the task handler's result. */
  @Get('reports/:userId')
  report(@Param('userId') userId: string) {
    return lastValueFrom(this.tasks.send('report:render', { userId }));
  }
}
