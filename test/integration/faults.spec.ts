import { describe, expect, it } from 'vitest';
import { SkipRetryError, TaskTimeoutError, TaskqError, type Task, type TaskInfo } from '../../lib/core/index.js';
import { backends, useTaskq } from '../helpers/taskq.js';
import { deferred, waitFor, waitForTaskState } from '../helpers/wait.js';

/**
 * Faults inside the engine: corrupt records, missing handlers, handlers that misbehave, timeouts, deadlines and the
 * retry policy. Each against the real Redis, no mocks.
 */
describe.each(backends)('faults (%s)', (backend) => {
  const tq = useTaskq('faults', backend);

  const waitState = (client: ReturnType<typeof tq.client>, id: string, state: TaskInfo['state'], timeoutMs = 5000) =>
    waitForTaskState(client, id, state, timeoutMs);

  it('archives a task whose payload the codec cannot decode', async () => {
    const codec = {
      encode: (p: unknown) => p,
      decode: (e: unknown) => {
        if (e === 'poison') throw new Error('cannot decode poison');
        return e;
      },
    };
    const client = tq.client({ codec });
    const worker = tq.worker({ codec });
    const done: unknown[] = [];
    worker.handle('x', (task) => {
      done.push(task.payload);
    });
    // While it waits, getTask reports it (raw payload, the reason in lastError) instead of throwing the codec's error.
    const waiting = await client.enqueue('x', 'poison', { processIn: '1h' });
    const seen = await client.getTask(waiting.id, 'default');
    expect(seen?.state).toBe('scheduled');
    expect(seen?.payload).toBe('poison');
    expect(seen?.lastError).toMatch(/payload cannot be decoded \(cannot decode poison\)/);
    await client.cancel(waiting.id, 'default');
    await worker.start();
    const bad = await client.enqueue('x', 'poison');
    const ok = await client.enqueue('x', 'fine');
    const archived = await waitState(client, bad.id, 'archived');
    expect(archived?.lastError).toMatch(/^corrupt task message: payload cannot be decoded \(cannot decode poison\)/);
    await waitFor(() => done.includes('fine'), 'the good task');
    expect(await client.getTask(ok.id, 'default')).toBeNull();
  });

  describe('no handler', () => {
    it('fails with lastError `no handler for task type "<type>"` and is archived once maxRetry is exhausted', async () => {
      const client = tq.client();
      const worker = tq.worker({ retryDelay: () => 10 });
      const failures: [string, boolean][] = [];
      worker.on('failed', (_task, err, willRetry) => failures.push([err.message, willRetry]));
      worker.handle('known', () => 'ok');
      await worker.start();
      const info = await client.enqueue('nobody-handles-me', { a: 1 }, { maxRetry: 1 });
      const archived = await waitState(client, info.id, 'archived');
      expect(archived.lastError).toBe('no handler for task type "nobody-handles-me"');
      expect(archived.retried).toBe(1);
      expect(failures).toEqual([
        ['no handler for task type "nobody-handles-me"', true],
        ['no handler for task type "nobody-handles-me"', false],
      ]);
      expect(worker.running).toBe(true);
    });

    it('completes once a handler is registered after the first failure', async () => {
      const client = tq.client();
      const worker = tq.worker({ retryDelay: () => 50 });
      const firstFailure = deferred<string>();
      worker.on('failed', (_task, err) => firstFailure.resolve(err.message));
      await worker.start();
      const { info, result } = await client.enqueueAndWait<string>('late', { v: 41 }, { maxRetry: 3 });
      expect(await firstFailure.promise).toBe('no handler for task type "late"');
      worker.handle('late', (task: Task<{ v: number }>) => `got ${task.payload.v + 1} after ${task.retried} retry`);
      expect(await result).toBe('got 42 after 1 retry');
      // Finished: deleted, or kept a while as completed because its result was awaited.
      expect((await client.getTask(info.id, 'default'))?.state ?? 'deleted').toMatch(/^(deleted|completed)$/);
    });
  });

  it('handles handlers that throw non-Errors, reject, or never settle; no task is lost and the worker keeps running', async () => {
    const client = tq.client();
    const worker = tq.worker({ concurrency: 8 });
    const workerErrors: Error[] = [];
    worker.on('error', (e) => workerErrors.push(e));
    const completed = new Set<string>();
    const hangSignal = deferred<unknown>();
    worker.handle('good', async (task) => {
      await new Promise((r) => setTimeout(r, 2));
      completed.add(task.id);
    });
    worker.handle('throw-string', () => {
      throw 'a plain string';
    });
    worker.handle('throw-object', () => {
      throw { message: 'an object with a message', code: 7 };
    });
    worker.handle('throw-bare-object', () => {
      throw { why: 'no message field' };
    });
    worker.handle('throw-undefined', () => {
      throw undefined;
    });
    worker.handle('reject', () => Promise.reject(new Error('rejected promise')));
    worker.handle('reject-null', async () => {
      await Promise.resolve();
      throw null;
    });
    worker.handle('hang', (task) => {
      task.signal.addEventListener('abort', () => hangSignal.resolve(task.signal.reason));
      return new Promise(() => undefined);
    });
    await worker.start();

    const expected: Record<string, string | RegExp> = {
      'throw-string': 'a plain string',
      'throw-object': 'an object with a message',
      'throw-bare-object': 'non-Error thrown: {"why":"no message field"}',
      'throw-undefined': 'non-Error thrown: undefined',
      reject: 'rejected promise',
      'reject-null': 'non-Error thrown: null',
      hang: /^task ".+" timed out after 200 ms$/,
    };
    const goodIds: string[] = [];
    const badIds = new Map<string, string>();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) goodIds.push((await client.enqueue('good', { round, i })).id);
      if (round === 2) {
        for (const type of Object.keys(expected)) {
          const info = await client.enqueue(type, {}, { maxRetry: 0, timeout: type === 'hang' ? '200ms' : '10s' });
          badIds.set(type, info.id);
        }
      }
    }
    await waitFor(() => goodIds.every((id) => completed.has(id)), 'every good task to complete');
    for (const [type, id] of badIds) {
      const info = await waitState(client, id, 'archived');
      if (typeof expected[type] === 'string') expect(info.lastError, type).toBe(expected[type]);
      else expect(info.lastError, type).toMatch(expected[type]);
      expect(info.retried, type).toBe(0);
    }
    const reason = await hangSignal.promise;
    expect(reason).toBeInstanceOf(TaskTimeoutError);
    expect((reason as TaskTimeoutError).code).toBe('TASK_TIMEOUT');
    // Everything settled: nothing active, nothing pending; failed stats counted the 7 failures.
    expect(await tq.probe.count('default', 'active')).toBe(0);
    expect(await tq.probe.count('default', 'lease')).toBe(0);
    expect(await tq.probe.count('default', 'pending')).toBe(0);
    expect(await tq.probe.counter('default', 'failed')).toBe(7);
    expect(await tq.probe.counter('default', 'processed')).toBe(7 + goodIds.length);
    expect(worker.running).toBe(true);
    expect(worker.activeCount).toBe(0);
    expect(workerErrors).toEqual([]);
    // A late settle of a timed-out handler must not write anything (it is already archived).
    const after = await client.enqueue('good', { after: true });
    await waitFor(() => completed.has(after.id), 'a task after the faults');
  });

  it('a timed-out handler that resolves late does not overwrite the archived outcome', async () => {
    const client = tq.client();
    const worker = tq.worker();
    const release = deferred();
    let attempts = 0;
    worker.handle('slow', async () => {
      attempts++;
      await release.promise;
      return 'too late';
    });
    await worker.start();
    const info = await client.enqueue('slow', {}, { maxRetry: 0, timeout: '100ms', retention: '1h' });
    const archived = await waitState(client, info.id, 'archived');
    expect(archived.lastError).toMatch(/timed out after 100 ms/);
    release.resolve();
    // Give the late resolution a chance to (wrongly) write; it must not.
    await new Promise((r) => setTimeout(r, 100));
    const still = await client.getTask(info.id, 'default');
    expect(still?.state).toBe('archived');
    expect(still?.result).toBeUndefined();
    expect(attempts).toBe(1);
  });

  it('a deadline aborts the handler signal and archives the task with a deadline error', async () => {
    const client = tq.client();
    const worker = tq.worker();
    const reason = deferred<unknown>();
    const started = deferred<number>();
    worker.handle('until-deadline', (task) => {
      started.resolve(Date.now());
      return new Promise((_resolve, reject) => {
        task.signal.addEventListener('abort', () => {
          reason.resolve(task.signal.reason);
          reject(task.signal.reason);
        });
      });
    });
    await worker.start();
    const deadline = new Date(Date.now() + 150);
    const info = await client.enqueue('until-deadline', {}, { deadline });
    await started.promise;
    const r = await reason.promise;
    expect(Date.now()).toBeGreaterThanOrEqual(deadline.getTime() - 5);
    expect(r).toBeInstanceOf(TaskqError);
    expect((r as TaskqError).code).toBe('DEADLINE_EXCEEDED');
    const archived = await waitState(client, info.id, 'archived');
    expect(archived.lastError).toMatch(/deadline/);
    expect(archived.lastError).toContain(deadline.toISOString());
    // Archived at once although maxRetry (25) is not exhausted: a retry could only start after the deadline.
    expect(archived.retried).toBe(0);
  });

  it('a task whose deadline already passed when it is picked up is archived without running', async () => {
    const client = tq.client();
    const worker = tq.worker();
    let ran = false;
    worker.handle('stale', () => {
      ran = true;
    });
    const info = await client.enqueue('stale', {}, { deadline: new Date(Date.now() + 20) });
    await new Promise((r) => setTimeout(r, 40));
    await worker.start();
    const archived = await waitState(client, info.id, 'archived');
    expect(archived.lastError).toMatch(/passed its deadline/);
    expect(ran).toBe(false);
  });

  describe('retries', () => {
    it('SkipRetryError archives at once without retrying', async () => {
      const client = tq.client();
      const worker = tq.worker({ retryDelay: () => 10 });
      let calls = 0;
      worker.handle('skip', () => {
        calls++;
        throw new SkipRetryError('permanent: bad input');
      });
      await worker.start();
      const info = await client.enqueue('skip', {}, { maxRetry: 5 });
      const archived = await waitState(client, info.id, 'archived');
      expect(archived.lastError).toBe('permanent: bad input');
      expect(archived.retried).toBe(0);
      expect(calls).toBe(1);
      expect(await tq.probe.count('default', 'retry')).toBe(0);
    });

    it('archives once maxRetry is exhausted: retried === maxRetry, handler called maxRetry + 1 times', async () => {
      const client = tq.client();
      const worker = tq.worker({ retryDelay: () => 10 });
      const seenRetried: number[] = [];
      worker.handle('always-fails', (task) => {
        seenRetried.push(task.retried);
        throw new Error(`attempt ${task.retried + 1} failed`);
      });
      await worker.start();
      const info = await client.enqueue('always-fails', {}, { maxRetry: 3 });
      const archived = await waitState(client, info.id, 'archived');
      expect(archived.retried).toBe(3);
      expect(archived.lastError).toBe('attempt 4 failed');
      expect(seenRetried).toEqual([0, 1, 2, 3]);
      expect(await tq.probe.counter('default', 'failed')).toBe(4);
    });

    it('uses a custom retryDelay for the retry time', async () => {
      const client = tq.client();
      const calls: [number, string, string][] = [];
      const worker = tq.worker({
        retryDelay: (retried, error, task) => {
          calls.push([retried, error.message, task.type]);
          return '7s';
        },
      });
      const failedAt = deferred<number>();
      worker.on('failed', () => failedAt.resolve(Date.now()));
      worker.handle('flaky', () => {
        throw new Error('flake');
      });
      await worker.start();
      const info = await client.enqueue('flaky', {}, { maxRetry: 2 });
      const at = await failedAt.promise;
      const retry = await waitState(client, info.id, 'retry');
      const score = (await tq.probe.score('default', 'retry', info.id)) ?? Number.NaN;
      expect(Math.abs(score - (at + 7000))).toBeLessThan(200);
      expect(retry.nextProcessAt?.getTime()).toBe(score);
      expect(retry.retried).toBe(1);
      expect(retry.lastError).toBe('flake');
      expect(calls).toEqual([[0, 'flake', 'flaky']]);
    });

    it('isFailure: () => false retries without incrementing retried or the failed stats', async () => {
      const client = tq.client();
      const worker = tq.worker({ retryDelay: () => 10, isFailure: () => false });
      const seenRetried: number[] = [];
      worker.handle('rate-limited', (task) => {
        seenRetried.push(task.retried);
        if (seenRetried.length < 4) throw new Error('rate limited, try later');
        return 'finally';
      });
      await worker.start();
      const { result } = await client.enqueueAndWait<string>('rate-limited', {}, { maxRetry: 1 });
      expect(await result).toBe('finally');
      // Three failures with maxRetry 1 did not archive it: none counted.
      expect(seenRetried).toEqual([0, 0, 0, 0]);
      expect(await tq.probe.counter('default', 'failed')).toBe(0);
    });
  });
});

/** Records written by hand into Redis. */
describe('faults on Redis: corrupt records', () => {
  const tq = useTaskq('faults-redis');

  it('archives corrupt task records with a clear lastError and goes on processing the good tasks', async () => {
    const client = tq.client();
    const worker = tq.worker({ concurrency: 4 });
    const errors: Error[] = [];
    worker.on('error', (e) => errors.push(e));
    const done = new Set<string>();
    worker.handle('good', (task) => {
      done.add(task.id);
    });

    const good1 = await client.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ type: 'good', payload: { i } })));
    // Hand-written garbage among the good tasks.
    const t = tq.key('default', 't');
    const pending = tq.key('default', 'pending');
    const corrupt: Record<string, RegExp> = {
      'corrupt-not-json': /^corrupt task message: not JSON/,
      'corrupt-no-type': /^corrupt task message: missing task type/,
      'corrupt-array': /^corrupt task message: not a JSON object/,
      'corrupt-version': /^corrupt task message: unknown format version 7/,
      'corrupt-bad-retry': /^corrupt task message: field "r" is not a number/,
    };
    await tq.admin.hset(t, 'corrupt-not-json', 'not json');
    await tq.admin.hset(t, 'corrupt-no-type', JSON.stringify({ s: Date.now(), p: { x: 1 } }));
    await tq.admin.hset(t, 'corrupt-array', '[1,2,3]');
    await tq.admin.hset(t, 'corrupt-version', JSON.stringify({ v: 7, t: 'good', s: Date.now() }));
    await tq.admin.hset(t, 'corrupt-bad-retry', JSON.stringify({ t: 'good', s: Date.now(), r: 'many' }));
    // An id in pending without any record: dropped.
    await tq.admin.lpush(pending, 'corrupt-not-json', 'no-record', 'corrupt-no-type', 'corrupt-array');
    const good2 = await client.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ type: 'good', payload: { i } })));
    await tq.admin.lpush(pending, 'corrupt-version', 'corrupt-bad-retry');

    await worker.start();
    const good = [...good1, ...good2].map((i) => i.id);
    await waitFor(() => good.every((id) => done.has(id)), 'every good task to be processed');
    await waitFor(
      async () => (await tq.admin.zcard(tq.key('default', 'archived'))) === Object.keys(corrupt).length,
      'the corrupt tasks to be archived',
    );
    for (const [id, pattern] of Object.entries(corrupt)) {
      const info = await client.getTask(id, 'default');
      expect(info?.state, id).toBe('archived');
      expect(info?.lastError, id).toMatch(pattern);
    }
    // The record-less id is gone: not active, not leased, not pending, not archived.
    expect(await tq.admin.sismember(tq.key('default', 'active'), 'no-record')).toBe(0);
    expect(await tq.admin.zscore(tq.key('default', 'lease'), 'no-record')).toBeNull();
    expect(await tq.admin.llen(pending)).toBe(0);
    expect(await tq.admin.zscore(tq.key('default', 'archived'), 'no-record')).toBeNull();
    expect(errors.some((e) => /no-record/.test(e.message) && /no task record/.test(e.message))).toBe(true);
    // Nothing is left active, and the worker keeps going.
    expect(await tq.admin.scard(tq.key('default', 'active'))).toBe(0);
    expect(await tq.admin.zcard(tq.key('default', 'lease'))).toBe(0);
    expect(worker.running).toBe(true);
    const later = await client.enqueue('good', { later: true });
    await waitFor(() => done.has(later.id), 'a task enqueued after the corrupt ones');
    expect(done.size).toBe(21);
  });
});
