import { describe, expect, it } from 'vitest';
import { InvalidOptionError, type EnqueueOptions, type WorkerOptions } from '../../lib/core/index.js';
import { backends, useTaskq } from '../helpers/taskq.js';

/**
 * Bad input: every invalid argument is rejected with InvalidOptionError (code INVALID_OPTION) naming the field and
 * saying what is allowed, and nothing at all is written to Redis.
 */
describe.each(backends)('bad input (%s)', (backend) => {
  const tq = useTaskq('bad', backend);

  async function expectInvalid(promise: Promise<unknown>, field: string, allowed: RegExp): Promise<void> {
    const err = await promise.then(
      () => {
        throw new Error(`expected InvalidOptionError for ${field}, but the call succeeded`);
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidOptionError);
    const e = err as InvalidOptionError;
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.field).toBe(field);
    expect(e.message).toMatch(allowed);
  }

  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;

  const cases: {
    name: string;
    type?: string;
    payload?: unknown;
    options?: EnqueueOptions;
    field: string;
    allowed: RegExp;
  }[] = [
    {
      name: 'queue with a space',
      options: { queue: 'a b' },
      field: 'queue',
      allowed: /1 to 128 characters of A-Z a-z 0-9/,
    },
    { name: 'queue with braces', options: { queue: '{x}' }, field: 'queue', allowed: /1 to 128 characters/ },
    { name: 'empty queue', options: { queue: '' }, field: 'queue', allowed: /1 to 128 characters/ },
    { name: '200-char queue', options: { queue: 'q'.repeat(200) }, field: 'queue', allowed: /1 to 128 characters/ },
    { name: 'non-string queue', options: { queue: 42 as unknown as string }, field: 'queue', allowed: /1 to 128/ },
    { name: 'negative maxRetry', options: { maxRetry: -1 }, field: 'maxRetry', allowed: /non-negative integer/ },
    { name: 'non-integer maxRetry', options: { maxRetry: 1.5 }, field: 'maxRetry', allowed: /non-negative integer/ },
    { name: 'NaN maxRetry', options: { maxRetry: Number.NaN }, field: 'maxRetry', allowed: /non-negative integer/ },
    { name: 'unparsable timeout', options: { timeout: '5 parsecs' }, field: 'timeout', allowed: /'500ms', '30s'/ },
    { name: 'zero timeout', options: { timeout: 0 }, field: 'timeout', allowed: /positive duration/ },
    {
      name: 'negative processIn',
      options: { processIn: -1 },
      field: 'processIn',
      allowed: /non-negative number of milliseconds/,
    },
    {
      name: 'invalid processAt Date',
      options: { processAt: new Date('nope') },
      field: 'processAt',
      allowed: /valid Date/,
    },
    {
      name: 'processAt not a Date',
      options: { processAt: Date.now() as unknown as Date },
      field: 'processAt',
      allowed: /valid Date/,
    },
    {
      name: 'invalid deadline Date',
      options: { deadline: new Date(Number.NaN) },
      field: 'deadline',
      allowed: /valid Date/,
    },
    { name: 'unique below 1s', options: { unique: '10ms' }, field: 'unique', allowed: /at least 1s/ },
    { name: 'bad retention', options: { retention: 'forever' }, field: 'retention', allowed: /'24h'/ },
    {
      name: 'non-string header',
      options: { headers: { n: 1 as unknown as string } },
      field: 'headers.n',
      allowed: /strings/,
    },
    {
      name: 'unknown option key',
      options: { retries: 3 } as unknown as EnqueueOptions,
      field: 'retries',
      allowed: /unknown option; allowed: queue, taskId, maxRetry/,
    },
    {
      name: 'BigInt payload',
      payload: { n: 10n },
      field: 'payload',
      allowed: /JSON-serializable \(no BigInt, no cycles\)/,
    },
    { name: 'circular payload', payload: circular, field: 'payload', allowed: /JSON-serializable/ },
    { name: 'empty type', type: '', field: 'type', allowed: /non-empty string/ },
    { name: 'non-string type', type: 7 as unknown as string, field: 'type', allowed: /non-empty string/ },
  ];

  it('enqueue rejects each invalid argument with InvalidOptionError naming the field, and writes nothing', async () => {
    const client = tq.client();
    for (const c of cases) {
      await expectInvalid(
        client.enqueue(c.type ?? 'ok', c.payload ?? { fine: true }, c.options),
        c.field,
        c.allowed,
      ).catch((err: Error) => {
        throw new Error(`case "${c.name}": ${err.message}`);
      });
    }
    // Also through enqueueAndWait (a different path that subscribes first).
    await expectInvalid(client.enqueueAndWait('ok', { n: 1n }), 'payload', /JSON-serializable/);
    expect(await tq.probe.isEmpty()).toBe(true);
    // The client still works after all those rejections.
    await client.enqueue('ok', { fine: true });
    expect(await tq.probe.isEmpty()).toBe(false);
  });

  it('enqueueMany with one bad task among good ones rejects and writes nothing', async () => {
    const client = tq.client();
    const good = Array.from({ length: 20 }, (_, i) => ({ type: 'ok', payload: { i } }));
    for (const c of cases) {
      const tasks = [...good];
      tasks.splice(7, 0, { type: c.type ?? 'ok', payload: c.payload ?? { fine: true }, options: c.options } as never);
      await expectInvalid(client.enqueueMany(tasks), c.field, c.allowed).catch((err: Error) => {
        throw new Error(`case "${c.name}": ${err.message}`);
      });
    }
    // Good tasks in another queue do not get written either.
    await expectInvalid(
      client.enqueueMany([
        { type: 'ok', payload: 1, options: { queue: 'other' } },
        { type: 'ok', payload: 2, options: { maxRetry: -3 } },
      ]),
      'maxRetry',
      /non-negative integer/,
    );
    await expectInvalid(client.enqueueMany([{ type: 'ok', payload: 1 }, null as never]), 'tasks[1]', /type, payload/);
    await expectInvalid(client.enqueueMany('nope' as never), 'tasks', /array/);
    expect(await tq.probe.isEmpty()).toBe(true);
  });

  it('worker options are validated in the constructor', async () => {
    const bad: { options: WorkerOptions; field: string; allowed: RegExp }[] = [
      { options: { concurrency: 0 }, field: 'concurrency', allowed: /integer from 1 to 10000/ },
      { options: { concurrency: 2.5 }, field: 'concurrency', allowed: /integer from 1 to 10000/ },
      { options: { queues: { default: 0 } }, field: 'queues.default', allowed: /positive integer/ },
      { options: { queues: { default: 1.5 } }, field: 'queues.default', allowed: /positive integer/ },
      { options: { queues: { 'bad name': 1 } }, field: 'queues', allowed: /1 to 128 characters/ },
      { options: { queues: [] }, field: 'queues', allowed: /at least one queue/ },
      { options: { leaseDuration: '100ms' }, field: 'leaseDuration', allowed: /at least 500ms/ },
      { options: { leaseDuration: 'soon' }, field: 'leaseDuration', allowed: /'30s'/ },
      { options: { shutdownTimeout: -5 }, field: 'shutdownTimeout', allowed: /non-negative/ },
      { options: { retryDelay: 5 as never }, field: 'retryDelay', allowed: /function/ },
      { options: { isFailure: 'no' as never }, field: 'isFailure', allowed: /function/ },
    ];
    for (const b of bad) {
      let thrown: unknown;
      try {
        tq.worker(b.options);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, `worker options ${JSON.stringify(b.options)}`).toBeInstanceOf(InvalidOptionError);
      expect((thrown as InvalidOptionError).code).toBe('INVALID_OPTION');
      expect((thrown as InvalidOptionError).field).toBe(b.field);
      expect((thrown as InvalidOptionError).message).toMatch(b.allowed);
    }
    // handle() validates too.
    const worker = tq.worker();
    expect(() => worker.handle('', () => 1)).toThrow(InvalidOptionError);
    expect(() => worker.handle('x', 'not a function' as never)).toThrow(/expected a function/);
    expect(await tq.probe.isEmpty()).toBe(true);
  });

  it('an invalid prefix is rejected before connecting', () => {
    let thrown: unknown;
    try {
      tq.client({ prefix: 'has space' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidOptionError);
    expect((thrown as InvalidOptionError).field).toBe('prefix');
  });
});
