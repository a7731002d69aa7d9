import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError, RedisUnavailableError, TaskClient, TaskTimeoutError } from '../../lib/core/index.js';
import { uniquePrefix } from '../helpers/redis.js';
import { startPrivateRedis } from '../helpers/redis-server.js';
import { backends, useTaskq } from '../helpers/taskq.js';
import { waitFor } from '../helpers/wait.js';

/** Producers must not hang: an enqueue has a bound; so has the size of what it sends. */
describe('producer limits: Redis down, stalled or slow', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    return promise.then(
      () => undefined,
      (e: unknown) => e,
    );
  }

  it('with Redis down, an enqueue rejects within enqueueTimeout naming the address, and nothing is written later', async () => {
    const server = await startPrivateRedis();
    cleanup.push(() => server.stop());
    const prefix = uniquePrefix('down');
    const client = new TaskClient({ connection: server.url, prefix, enqueueTimeout: '400ms' });
    cleanup.push(() => client.close());
    await client.enqueue('warm', {});
    await server.kill();
    await waitFor(() => !client.isReady, 'the client to see the outage');
    const t0 = Date.now();
    const err = await rejection(client.enqueue('lost', { n: 1 }));
    const took = Date.now() - t0;
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as RedisUnavailableError).code).toBe('REDIS_UNAVAILABLE');
    expect((err as RedisUnavailableError).mayHaveWritten).toBe(false);
    expect((err as Error).message).toContain(`127.0.0.1:${server.port}`);
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(2_000);
    // The same for the other producer calls.
    expect(await rejection(client.enqueueMany([{ type: 'lost', payload: 2 }]))).toBeInstanceOf(RedisUnavailableError);
    expect(await rejection(client.getTask('x', 'default'))).toBeInstanceOf(RedisUnavailableError);
    // Redis comes back: the rejected enqueues were never sent, so they never land.
    await server.start();
    await waitFor(() => client.isReady, 'the client to reconnect', 10_000);
    const admin = new Redis(server.url);
    cleanup.push(async () => admin.disconnect());
    await client.enqueue('after', {});
    expect(await admin.llen(`${prefix}:{default}:pending`)).toBe(1);
  });

  it('an enqueue that reached a stalled Redis rejects with mayHaveWritten, and does land once Redis answers', async () => {
    const server = await startPrivateRedis();
    cleanup.push(() => server.stop());
    const prefix = uniquePrefix('stall');
    const client = new TaskClient({ connection: server.url, prefix, enqueueTimeout: '300ms' });
    cleanup.push(() => client.close());
    await client.enqueue('warm', {});
    const admin = new Redis(server.url);
    cleanup.push(async () => admin.disconnect());
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const err = await rejection(client.enqueue('maybe', {}, { taskId: 'chosen-1' }));
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as RedisUnavailableError).mayHaveWritten).toBe(true);
    // Redis carries it out after the pause: a retry with the same taskId tells that the first attempt landed.
    await waitFor(
      async () => (await client.getTask('chosen-1', 'default').catch(() => null)) !== null,
      'the stalled enqueue to land',
      5_000,
    );
    expect(((await rejection(client.enqueue('maybe', {}, { taskId: 'chosen-1' }))) as Error).name).toBe(
      'TaskIdConflictError',
    );
  });

  it('an enqueue that Redis answers within the timeout succeeds, even when it answers late', async () => {
    const server = await startPrivateRedis();
    cleanup.push(() => server.stop());
    const client = new TaskClient({ connection: server.url, prefix: uniquePrefix('slow'), enqueueTimeout: '2s' });
    cleanup.push(() => client.close());
    await client.enqueue('warm', {});
    const admin = new Redis(server.url);
    cleanup.push(async () => admin.disconnect());
    await admin.call('CLIENT', 'PAUSE', '500', 'ALL');
    const info = await client.enqueue('ok', {});
    expect(info.state).toBe('pending');
  });

  it('enqueueTimeout: false waits as long as it takes', async () => {
    const client = new TaskClient({
      connection: 'redis://127.0.0.1:1',
      prefix: uniquePrefix('wait'),
      enqueueTimeout: false,
    });
    cleanup.push(() => client.close());
    const settled = await Promise.race([
      client.enqueue('x', {}).then(
        () => 'resolved',
        () => 'rejected',
      ),
      new Promise((r) => setTimeout(() => r('still waiting'), 700)),
    ]);
    expect(settled).toBe('still waiting');
  });

  it('an enqueueTimeout longer than 24.8 days still waits (no timer overflow)', async () => {
    const client = new TaskClient({
      connection: 'redis://127.0.0.1:1',
      prefix: uniquePrefix('long'),
      enqueueTimeout: '30d',
    });
    cleanup.push(() => client.close());
    const settled = await Promise.race([
      client.enqueue('x', {}).then(
        () => 'resolved',
        () => 'rejected',
      ),
      new Promise((r) => setTimeout(() => r('still waiting'), 500)),
    ]);
    expect(settled).toBe('still waiting');
  });

  it('bad producer limits are refused at construction', () => {
    expect(() => new TaskClient({ connection: 'redis://127.0.0.1:1', enqueueTimeout: 0 })).toThrow(InvalidOptionError);
    expect(() => new TaskClient({ connection: 'redis://127.0.0.1:1', enqueueTimeout: 'soon' })).toThrow(
      /enqueueTimeout/,
    );
    expect(() => new TaskClient({ connection: 'redis://127.0.0.1:1', maxPayloadSize: 0 })).toThrow(/maxPayloadSize/);
    expect(() => new TaskClient({ connection: 'redis://127.0.0.1:1', maxPayloadSize: 2 ** 40 })).toThrow(/512 MiB/);
  });
});

describe.each(backends)('producer limits (%s)', (backend) => {
  const tq = useTaskq('limits', backend);

  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    return promise.then(
      () => undefined,
      (e: unknown) => e,
    );
  }

  it('a payload over maxPayloadSize is refused with its size and the limit, before anything is sent', async () => {
    const client = tq.client({ maxPayloadSize: 1000 });
    const err = await rejection(client.enqueue('big', { blob: 'é'.repeat(600) }));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).field).toBe('payload');
    expect((err as Error).message).toMatch(
      /the encoded task is 1\d{3} bytes; the limit \(maxPayloadSize\) is 1000 bytes/,
    );
    expect(
      await rejection(
        client.enqueueMany([
          { type: 'ok', payload: 1 },
          { type: 'big', payload: 'x'.repeat(2000) },
        ]),
      ),
    ).toBeInstanceOf(InvalidOptionError);
    expect(await tq.probe.isEmpty()).toBe(true);
    // The default limit is 1 MiB: a 2 MiB payload is refused, a 100 KiB one accepted.
    const defaults = tq.client();
    expect(await rejection(defaults.enqueue('huge', 'x'.repeat(2 * 1_048_576)))).toBeInstanceOf(InvalidOptionError);
    expect((await defaults.enqueue('fine', 'x'.repeat(100_000))).state).toBe('pending');
  });

  it('a periodic entry over maxPayloadSize is refused too', async () => {
    const scheduler = tq.scheduler({ maxPayloadSize: 500 });
    await expect(scheduler.register('@hourly', 'big', 'x'.repeat(600))).rejects.toThrow(/maxPayloadSize/);
  });

  it('waitForResult with a 30-day timeout does not give up early', async () => {
    const client = tq.client();
    const info = await client.enqueue('slow', {}, { retention: '1m' });
    const settled = await Promise.race([
      client.waitForResult(info.id, { timeout: '30d' }).then(
        () => 'resolved',
        (e: unknown) => (e instanceof TaskTimeoutError ? 'timed out' : String(e)),
      ),
      new Promise((r) => setTimeout(() => r('still waiting'), 300)),
    ]);
    expect(settled).toBe('still waiting');
  });
});
