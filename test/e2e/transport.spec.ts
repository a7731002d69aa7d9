import { Controller, Inject, Injectable, Scope } from '@nestjs/common';
import { CONTEXT, Ctx, Payload, type RequestContext } from '@nestjs/microservices';
import { lastValueFrom, of, delay } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkipRetryError, TaskFailedError, type TaskInfo } from '../../lib/core/index.js';
import { TaskHandler, TaskqContext, TaskRecord } from '../../lib/nest/index.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { backends } from '../helpers/taskq.js';
import { startHarness, type Harness } from './nest-harness.js';

const seen = new Map<string, ReturnType<typeof deferred<{ payload: unknown; ctx: TaskqContext }>>>();
function expectTask(key: string) {
  const d = deferred<{ payload: unknown; ctx: TaskqContext }>();
  seen.set(key, d);
  return d.promise;
}

@Controller()
class Handlers {
  @TaskHandler('echo')
  echo(@Payload() payload: { key: string }, @Ctx() ctx: TaskqContext) {
    seen.get(payload.key)?.resolve({ payload, ctx });
    return { echoed: payload.key, type: ctx.getType() };
  }

  @TaskHandler('stream')
  stream(@Payload() n: number) {
    return of(n, n + 1, n + 2).pipe(delay(1));
  }

  @TaskHandler('refuse')
  refuse(@Payload() why: string) {
    throw new SkipRetryError(`refused: ${why}`);
  }

  @TaskHandler('flaky')
  flaky(@Payload() p: { failures: number }, @Ctx() ctx: TaskqContext) {
    if (ctx.getRetryCount() < p.failures) throw new Error(`attempt ${ctx.getRetryCount() + 1} failed`);
    return `ok after ${ctx.getRetryCount()} retries`;
  }
}

/** A request-scoped provider: one instance per task, with the task's context injected. */
@Injectable({ scope: Scope.REQUEST })
class PerTask {
  static created = 0;
  constructor(@Inject(CONTEXT) readonly request: RequestContext<unknown, TaskqContext>) {
    PerTask.created++;
  }
}

@Controller()
class ScopedHandlers {
  constructor(private readonly perTask: PerTask) {}

  @TaskHandler('scoped')
  run(@Payload() p: number) {
    return {
      p,
      taskId: this.perTask.request.getContext().getTaskId(),
      pattern: this.perTask.request.getPattern(),
    };
  }
}

describe.each(backends)('TaskqServer + TaskqClient (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('transport', [Handlers, ScopedHandlers], { providers: [PerTask], backend });
  });
  afterAll(async () => {
    await h.close();
  });

  it('send() emits the handler result', async () => {
    const result = await lastValueFrom(h.client.send('echo', { key: 'send-1' }));
    expect(result).toEqual({ echoed: 'send-1', type: 'echo' });
  });

  it('send() emits the last value of a returned Observable', async () => {
    expect(await lastValueFrom(h.client.send('stream', 5))).toBe(7);
  });

  it('send() errors with the last error once the task is archived (SkipRetryError: no retry)', async () => {
    const err = await lastValueFrom(h.client.send('refuse', 'nope')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailedError);
    expect((err as TaskFailedError).message).toBe('refused: nope');
  });

  it('a failing handler retries by policy and then succeeds', async () => {
    const result = await lastValueFrom(h.client.send('flaky', new TaskRecord({ failures: 2 }, { maxRetry: 5 })));
    expect(result).toBe('ok after 2 retries');
  });

  it('emit() enqueues and emits the TaskInfo; the context carries the task', async () => {
    const got = expectTask('emit-1');
    const info = await lastValueFrom(h.client.emit<TaskInfo>('echo', { key: 'emit-1' }));
    expect(info).toMatchObject({ type: 'echo', queue: 'default', payload: { key: 'emit-1' } });
    expect(['pending', 'active', 'completed']).toContain(info.state);
    const { ctx } = await got;
    expect(ctx.getTaskId()).toBe(info.id);
    expect(ctx.getQueue()).toBe('default');
    expect(ctx.getRetryCount()).toBe(0);
    expect(ctx.getMaxRetry()).toBe(25);
    expect(ctx.getSignal()).toBeInstanceOf(AbortSignal);
    expect(ctx.getTask().payload).toEqual({ key: 'emit-1' });
  });

  it('headers travel per call (TaskRecord) and from setOnDispatchHook (call headers win)', async () => {
    h.client.setOnDispatchHook((packet) => {
      packet.metadata = { trace: 't-1', tenant: 'from-hook' };
    });
    try {
      const got = expectTask('hdr-1');
      await lastValueFrom(h.client.emit('echo', new TaskRecord({ key: 'hdr-1' }, { headers: { tenant: 'acme' } })));
      const { ctx } = await got;
      expect(ctx.getHeaders()).toEqual({ trace: 't-1', tenant: 'acme' });
      expect(ctx.getMetadata()).toEqual({ trace: 't-1', tenant: 'acme' });
    } finally {
      h.client.setOnDispatchHook(() => undefined);
    }
  });

  it('TaskRecord carries processIn: the task is scheduled, then runs', async () => {
    const got = expectTask('delayed-1');
    const started = Date.now();
    const info = await lastValueFrom(
      h.client.emit<TaskInfo>('echo', new TaskRecord({ key: 'delayed-1' }, { processIn: 300 })),
    );
    expect(info.state).toBe('scheduled');
    await got;
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('TaskRecord carries unique: a duplicate errors with DuplicateTaskError', async () => {
    const record = new TaskRecord({ key: 'uniq-1' }, { unique: '10s', processIn: '1h' });
    await lastValueFrom(h.client.emit('echo', record));
    const err = await lastValueFrom(h.client.emit('echo', record)).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('DUPLICATE_TASK');
  });

  it('TaskRecord carries queue: a queue the worker does not serve keeps the task pending', async () => {
    const info = await lastValueFrom(
      h.client.emit<TaskInfo>('echo', new TaskRecord({ key: 'q-1' }, { queue: 'elsewhere' })),
    );
    expect(info.queue).toBe('elsewhere');
    const stored = await h.client.unwrap().getTask(info.id, 'elsewhere');
    expect(stored?.state).toBe('pending');
  });

  it('newTask() returns the TaskInfo', async () => {
    const got = expectTask('new-1');
    const info = await h.client.newTask('echo', { key: 'new-1' }, { maxRetry: 3 });
    expect(info.maxRetry).toBe(3);
    expect((await got).ctx.getMaxRetry()).toBe(3);
  });

  it('request-scoped controllers get one instance per task, with the task context injected', async () => {
    const before = PerTask.created;
    const info = await h.client.newTask('scoped', 1, { retention: '1m' });
    const result = await h.client.unwrap().waitForResult<{ p: number; taskId: string; pattern: string }>(info.id);
    expect(result).toEqual({ p: 1, taskId: info.id, pattern: 'scoped' });
    expect(await lastValueFrom(h.client.send('scoped', 2))).toMatchObject({ p: 2 });
    expect(PerTask.created - before).toBe(2);
  });

  it('on() after listen subscribes to the worker events', async () => {
    const completed: string[] = [];
    h.server.on('completed', (task) => completed.push(task.id));
    const info = await h.client.newTask('echo', { key: 'on-after-listen' });
    await waitFor(() => completed.includes(info.id), 'the completed event');
  });
});
