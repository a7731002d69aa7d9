import { describe, expect, it } from 'vitest';
import { defineTask, InvalidOptionError, type Task } from '../../lib/core/index.js';
import { backends, useTaskq } from '../helpers/taskq.js';

interface Welcome {
  userId: number;
}
const WelcomeTask = defineTask<Welcome, { sent: number }>('email:welcome', {
  queue: 'mail',
  maxRetry: 5,
  headers: { source: 'definition', tenant: 'a' },
});

describe.each(backends)('typed task definitions (%s)', (backend) => {
  const tq = useTaskq('defs', backend);

  it("a definition's options are the defaults a call overrides (headers merged, the call's winning)", async () => {
    const client = tq.client();
    const plain = await client.enqueue(WelcomeTask, { userId: 1 });
    expect(plain).toMatchObject({ type: 'email:welcome', queue: 'mail', maxRetry: 5, payload: { userId: 1 } });
    expect(plain.headers).toEqual({ source: 'definition', tenant: 'a' });
    const overridden = await client.enqueue(WelcomeTask, { userId: 2 }, { maxRetry: 1, headers: { tenant: 'b' } });
    expect(overridden).toMatchObject({ queue: 'mail', maxRetry: 1 });
    expect(overridden.headers).toEqual({ source: 'definition', tenant: 'b' });
    const stored = await client.getTask(overridden.id, 'mail');
    expect(stored).toMatchObject({
      type: 'email:welcome',
      maxRetry: 1,
      headers: { source: 'definition', tenant: 'b' },
    });
    const [batched] = await client.enqueueMany([{ type: WelcomeTask, payload: { userId: 3 } }]);
    expect(batched).toMatchObject({ queue: 'mail', maxRetry: 5 });
  });

  it('a worker runs a defined task and its typed result comes back', async () => {
    const client = tq.client();
    const worker = tq.worker({ queues: ['mail'] });
    worker.handle(WelcomeTask.type, (task: Task<Welcome>) => ({ sent: task.payload.userId * 2 }));
    await worker.start();
    const { info, result } = await client.enqueueAndWait(WelcomeTask, { userId: 21 });
    expect(info.queue).toBe('mail');
    expect((await result).sent).toBe(42);
  });

  it('bad definitions are refused when defined, naming the field', () => {
    const field = (make: () => unknown): string | undefined => {
      try {
        make();
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidOptionError);
        return (err as InvalidOptionError).field;
      }
      return undefined;
    };
    expect(field(() => defineTask(''))).toBe('type');
    expect(field(() => defineTask('x', { queue: 'no spaces' }))).toBe('queue');
    expect(field(() => defineTask('x', { maxRetry: -1 }))).toBe('maxRetry');
    expect(field(() => defineTask('x', { taskId: 'fixed' }))).toBe('taskId');
    expect(field(() => defineTask('x', null as never))).toBe('defaults');
    expect(Object.isFrozen(WelcomeTask)).toBe(true);
  });
});
