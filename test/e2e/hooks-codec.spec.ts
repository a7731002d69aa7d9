import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskClient } from '../../lib/core/index.js';
import { TaskHandler, TaskqClient, TaskqContext, TASKQ_TRANSPORT } from '../../lib/nest/index.js';
import { testRedisUrl } from '../helpers/redis.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { startHarness, type Harness } from './nest-harness.js';

/** A reversible, synchronous codec in Nest serializer/deserializer shape: wraps payloads in an envelope. */
const serializer = { serialize: (value: unknown) => ({ v: 1, body: JSON.stringify(value) }) };
const deserializer = {
  deserialize: (value: unknown) => JSON.parse((value as { body: string }).body) as unknown,
};

const slow = deferred();
let slowFinished = false;

@Controller()
class CodecTasks {
  @TaskHandler('codec:date')
  date(@Payload() p: { when: string }) {
    return `got ${p.when}`;
  }

  @TaskHandler('hooks-fail')
  fail() {
    throw new Error('hook sees this');
  }

  @TaskHandler('slow')
  async slow(@Ctx() ctx: TaskqContext) {
    await slow.promise;
    slowFinished = !ctx.getSignal().aborted;
    return 'late';
  }
}

describe('processing hooks and serializer/deserializer', () => {
  let h: Harness;
  let client: TaskqClient;
  const hookEvents: string[] = [];
  const failures: unknown[] = [];
  beforeAll(async () => {
    h = await startHarness('hooks', [CodecTasks], { server: { serializer, deserializer } });
    h.server.setOnProcessingStartHook((transportId, context, done) => {
      const ctx = context as TaskqContext;
      hookEvents.push(`start:${String((transportId as symbol).description)}:${ctx.getType()}`);
      const p = done();
      p.catch((e: unknown) => failures.push(e));
      return p;
    });
    h.server.setOnProcessingEndHook((_, context) => hookEvents.push(`end:${(context as TaskqContext).getType()}`));
    client = new TaskqClient({ connection: testRedisUrl(), prefix: h.prefix, serializer, deserializer });
  });
  afterAll(async () => {
    slow.resolve();
    await client.close();
    await h.close();
  });

  it('serializer/deserializer are the payload codec on both sides', async () => {
    expect(await lastValueFrom(client.send('codec:date', { when: 'today' }))).toBe('got today');
    const info = await client.newTask('codec:date', { when: 'later' }, { processIn: '1h' });
    // Stored encoded: a plain JSON client sees the envelope.
    const raw = await new TaskClient({ connection: testRedisUrl(), prefix: h.prefix });
    const stored = await raw.getTask(info.id);
    await raw.close();
    expect(stored?.payload).toEqual({ v: 1, body: JSON.stringify({ when: 'later' }) });
  });

  it('every task runs between the processing hooks (what @nestjs/observe uses); failures reach done()', async () => {
    hookEvents.length = 0;
    await lastValueFrom(client.send('codec:date', { when: 'now' }));
    expect(hookEvents).toEqual([`start:${TASKQ_TRANSPORT.description}:codec:date`, 'end:codec:date']);
    await lastValueFrom(client.send('hooks-fail', {})).catch(() => undefined);
    await waitFor(() => failures.length > 0, 'the start hook to see the failure');
    expect((failures[0] as Error).message).toBe('hook sees this');
  });

  it('unsubscribing from send() stops waiting without affecting the task', async () => {
    const values: unknown[] = [];
    const sub = client.send('slow', {}).subscribe({ next: (v) => values.push(v), error: (e) => values.push(e) });
    await waitFor(async () => (await h.server.unwrap().activeCount) > 0, 'the slow task to start');
    sub.unsubscribe();
    slow.resolve();
    await waitFor(() => slowFinished, 'the slow task to finish');
    expect(values).toEqual([]);
  });
});
