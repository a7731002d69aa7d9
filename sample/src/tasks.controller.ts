import { Controller, Logger, UsePipes, ValidationPipe } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { PeriodicTask, TaskHandler, TaskqContext } from '../../lib/nest/index.js';
import { DemoProgress } from './demo-progress.service.js';
import { ImportUserDto } from './dto.js';

/** The task handlers: one method per task type. Guards, pipes, interceptors and filters work here as anywhere. */
@Controller()
export class TasksController {
  private readonly logger = new Logger('Tasks');

  constructor(private readonly progress: DemoProgress) {}

  @TaskHandler('email:welcome')
  async welcome(@Payload() p: { userId: string; email: string }, @Ctx() ctx: TaskqContext) {
    this.logger.log(
      `📧 welcome email to ${p.email} (task ${ctx.getTaskId()}, request ${ctx.getHeaders()['x-request-id'] ?? '-'})`,
    );
    this.progress.mark('welcome-email');
    return { sent: true };
  }

  @TaskHandler('email:reminder')
  reminder(@Payload() p: { userId: string; email: string; enqueuedAt: number }) {
    this.logger.log(`⏰ reminder email to ${p.email}, ${Date.now() - p.enqueuedAt} ms after signup (processIn)`);
    this.progress.mark('reminder-email');
  }

  @TaskHandler('user:import')
  @UsePipes(new ValidationPipe({ transform: true }))
  import(@Payload() user: ImportUserDto) {
    this.logger.log(`👤 imported ${user.email}, age ${user.age} (payload validated by ValidationPipe)`);
    this.progress.mark('import-valid');
    return { imported: user.email };
  }

  @TaskHandler('payment:charge')
  charge(@Payload() p: { orderId: string; amount: number }, @Ctx() ctx: TaskqContext) {
    const attempt = ctx.getRetryCount() + 1;
    if (attempt <= 2) {
      this.logger.warn(`💳 charging order ${p.orderId}: attempt ${attempt} fails (the gateway is flaky)`);
      throw new Error(`payment gateway timeout (attempt ${attempt})`);
    }
    this.logger.log(`💳 charged ${p.amount} for order ${p.orderId} on attempt ${attempt}`);
    this.progress.mark('charge-succeeded');
    return { charged: p.amount };
  }

  @TaskHandler('report:render')
  async render(@Payload() p: { userId: string }) {
    this.logger.log(`📊 rendering the report of ${p.userId} for an HTTP request that waits on send()`);
    return { userId: p.userId, lines: 3, renderedAt: new Date().toISOString() };
  }

  /** A workflow member: one size of an image (the three run in parallel, on any worker). */
  @TaskHandler('image:resize')
  async resize(@Payload() p: { image: string; width: number }, @Ctx() ctx: TaskqContext) {
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 40));
    this.logger.log(`🖼  resized ${p.image} to ${p.width}px (workflow ${ctx.getWorkflowId()})`);
    return `${p.image.replace(/\.\w+$/, '')}-${p.width}.webp`;
  }

  /** The chord's callback: runs once, after every size is done, with their results in member order. */
  @TaskHandler('image:record')
  record(@Payload() p: { image: string }, @Ctx() ctx: TaskqContext) {
    const files = ctx.getPrevious<string[]>() ?? [];
    this.logger.log(`🗂  recorded ${files.length} sizes of ${p.image}: ${files.join(', ')} (chord callback, once)`);
    this.progress.mark('workflow-recorded');
    return { image: p.image, files };
  }

  @TaskHandler('stats:heartbeat')
  @PeriodicTask('@every 2s', { id: 'sample-heartbeat', payload: { source: 'sample' } })
  heartbeat(@Ctx() ctx: TaskqContext) {
    this.logger.log(`💓 periodic task fired (task ${ctx.getTaskId()}), once per tick across all replicas`);
    this.progress.mark('periodic-fired');
  }
}
