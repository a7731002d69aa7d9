import { describe, expect, it } from 'vitest';
import {
  chain,
  chord,
  group,
  InvalidOptionError,
  task,
  WorkflowFailedError,
  WorkflowIdConflictError,
  SimulatedClock,
  type Task,
} from '../../lib/core/index.js';
import { flakyBroker } from '../helpers/flaky-broker.js';
import { backends, useTaskq } from '../helpers/taskq.js';
import { deferred, waitFor } from '../helpers/wait.js';

describe.each(backends)('workflows (%s)', (backend) => {
  const tq = useTaskq('wf', backend);

  it('a chain across two queues passes each result on, and the workflow result is the last step’s', async () => {
    const client = tq.client();
    const a = tq.worker({ queues: ['a'] });
    const b = tq.worker({ queues: ['b'] });
    a.handle('add', (t: Task<number>) => ((t.previous as number | undefined) ?? 0) + t.payload);
    b.handle('mul', (t: Task<number>) => (t.previous as number) * t.payload);
    await Promise.all([a.start(), b.start()]);
    const info = await client.enqueueWorkflow(
      chain(task('add', 2, { queue: 'a' }), task('mul', 10, { queue: 'b' }), task('add', 1, { queue: 'a' })),
    );
    expect(info.tasks.map((t) => t.state)).toEqual(['pending', 'waiting', 'waiting']);
    expect(await client.waitForWorkflow(info.id, { timeout: '10s' })).toBe(21);
    const done = await client.getWorkflow(info.id);
    expect(done?.state).toBe('completed');
    expect(done?.tasks.map((t) => [t.queue, t.state, t.result])).toEqual([
      ['a', 'completed', 2],
      ['b', 'completed', 20],
      ['a', 'completed', 21],
    ]);
  });

  it('a group of 100 over 3 workers gives its results in member order', async () => {
    const client = tq.client();
    for (let i = 0; i < 3; i++) {
      const w = tq.worker({ concurrency: 10 });
      w.handle('sq', async (t: Task<number>) => {
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        return t.payload * t.payload;
      });
      await w.start();
    }
    const info = await client.enqueueWorkflow(group(...Array.from({ length: 100 }, (_, i) => task('sq', i))));
    const result = await client.waitForWorkflow<number[]>(info.id, { timeout: '20s' });
    expect(result).toEqual(Array.from({ length: 100 }, (_, i) => i * i));
  });

  it('a chord of 9,000 members: every script that reads all inputs works past Lua’s unpack limit', async () => {
    const client = tq.client();
    const worker = tq.worker({ concurrency: 50 });
    worker.handle('one', (t: Task<number>) => t.payload);
    worker.handle('total', (t) => (t.previous as number[]).reduce((x, y) => x + y, 0));
    await worker.start();
    const n = 9000;
    const info = await client.enqueueWorkflow(
      chord(
        Array.from({ length: n }, (_, i) => task('one', i)),
        task('total'),
      ),
    );
    expect(await client.waitForWorkflow(info.id, { timeout: '60s' })).toBe((n * (n - 1)) / 2);
    const done = await client.getWorkflow(info.id);
    expect(done?.tasks).toHaveLength(n + 1);
    expect(done?.tasks.every((t) => t.state === 'completed')).toBe(true);
  }, 90_000);

  it('a chord whose member fails twice then succeeds runs its callback once, with every result', async () => {
    const client = tq.client();
    const worker = tq.worker({ retryDelay: () => 10 });
    const attempts = new Map<number, number>();
    let callbacks = 0;
    worker.handle('part', (t: Task<number>) => {
      const n = (attempts.get(t.payload) ?? 0) + 1;
      attempts.set(t.payload, n);
      if (t.payload === 3 && n <= 2) throw new Error(`flaky ${n}`);
      return t.payload;
    });
    worker.handle('sum', (t) => {
      callbacks++;
      return (t.previous as number[]).reduce((x, y) => x + y, 0);
    });
    await worker.start();
    const info = await client.enqueueWorkflow(
      chord(
        [1, 2, 3, 4].map((n) => task('part', n)),
        task('sum'),
      ),
    );
    expect(await client.waitForWorkflow(info.id, { timeout: '10s' })).toBe(10);
    await new Promise((r) => setTimeout(r, 100));
    expect(callbacks).toBe(1);
    expect(attempts.get(3)).toBe(3);
  });

  it('an archived member fails the workflow at once: the callback never runs, onFailure runs once with the failure', async () => {
    const client = tq.client();
    const worker = tq.worker();
    let callbacks = 0;
    const failures: unknown[] = [];
    const onFailure = deferred();
    worker.handle('ok', () => 'fine');
    worker.handle('bad', () => {
      throw new Error('broken for good');
    });
    worker.handle('cb', () => void callbacks++);
    worker.handle('alert', (t) => {
      failures.push(t.previous);
      onFailure.resolve();
    });
    await worker.start();
    const info = await client.enqueueWorkflow(chord([task('ok'), task('bad', {}, { maxRetry: 0 })], task('cb')), {
      onFailure: task('alert', { to: 'ops' }),
    });
    const err = await client.waitForWorkflow(info.id, { timeout: '10s' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).failure).toEqual({
      taskId: `${info.id}.1`,
      type: 'bad',
      queue: 'default',
      error: 'broken for good',
    });
    await onFailure.promise;
    await new Promise((r) => setTimeout(r, 200));
    expect(callbacks).toBe(0);
    expect(failures).toEqual([(err as WorkflowFailedError).failure]);
    const stored = await client.getWorkflow(info.id);
    expect(stored?.state).toBe('failed');
    expect(stored?.tasks[2].state).toBe('waiting');
  });

  it('cancelWorkflow removes pending members, aborts active ones, and nothing more is enqueued', async () => {
    const client = tq.client();
    const worker = tq.worker({ concurrency: 1 });
    const started = deferred<Task>();
    let aborted = false;
    let callbacks = 0;
    worker.handle('long', (t) => {
      started.resolve(t);
      return new Promise((_, reject) =>
        t.signal.addEventListener('abort', () => {
          aborted = true;
          reject(t.signal.reason);
        }),
      );
    });
    worker.handle('cb', () => void callbacks++);
    await worker.start();
    const info = await client.enqueueWorkflow(chord([task('long'), task('long'), task('long')], task('cb')));
    await started.promise;
    expect(await client.cancelWorkflow(info.id)).toBe(true);
    await expect(client.waitForWorkflow(info.id, { timeout: '5s' })).rejects.toThrow(/canceled/);
    await waitFor(() => aborted, 'the active member to be aborted');
    const stored = await client.getWorkflow(info.id);
    expect(stored?.state).toBe('canceled');
    await waitFor(async () => (await tq.probe.count('default', 'pending')) === 0, 'pending members removed');
    expect(callbacks).toBe(0);
    expect(await client.cancelWorkflow(info.id)).toBe(false);
  });

  it('nesting: a chain of groups of chains', async () => {
    const client = tq.client();
    const worker = tq.worker({ concurrency: 20 });
    worker.handle('inc', (t) => ((t.previous as number | undefined) ?? 0) + 1);
    worker.handle('sum', (t) => (t.previous as number[]).reduce((x, y) => x + y, 0));
    worker.handle('echo', (t) => t.previous);
    await worker.start();
    const flow = chain(
      group(chain(task('inc'), task('inc')), chain(task('inc'), task('inc'), task('inc'))),
      task('sum'),
      group(chain(task('inc'), task('inc')), task('echo')),
    );
    const info = await client.enqueueWorkflow(flow);
    // [2, 3] → 5 → [5+2, 5]
    expect(await client.waitForWorkflow(info.id, { timeout: '10s' })).toEqual([7, 5]);
  });

  it('bad input names the path of the bad step, and writes nothing', async () => {
    const client = tq.client();
    const cases: [unknown, string][] = [
      [group(), 'members'],
      [chord([], task('cb')), 'steps[0].members'],
      [chain(task('a'), undefined as never), 'steps[1]'],
      [
        chain(task('a'), group(task('b'), task('c'), task('d'), task('e', {}, { queue: 'bad queue' }))),
        'steps[1].members[3].options.queue',
      ],
      [chain(task('a', {}, { taskId: 'x' })), 'steps[0].options.taskId'],
      [task('a', {}, { maxRetry: -1 }), 'options.maxRetry'],
      [{ kind: 'weird' }, 'flow'],
      [chain(task('a', 10n)), 'steps[0].payload'],
    ];
    for (const [flow, field] of cases) {
      const err = await client.enqueueWorkflow(flow as never).catch((e: unknown) => e);
      expect(err, field).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).field).toBe(field);
    }
    await expect(client.enqueueWorkflow(task('a'), { onFailure: chain(task('x')) as never })).rejects.toThrow(
      /onFailure/,
    );
    await expect(client.enqueueWorkflow(task('a'), { id: 'has space' })).rejects.toThrow(InvalidOptionError);
    expect(await tq.probe.isEmpty()).toBe(true);
  });

  it('a duplicate workflow id rejects with WorkflowIdConflictError', async () => {
    const client = tq.client();
    await client.enqueueWorkflow(task('a'), { id: 'wf-1' });
    await expect(client.enqueueWorkflow(task('b'), { id: 'wf-1' })).rejects.toBeInstanceOf(WorkflowIdConflictError);
  });

  it('a handler chain resumes at the handler that failed: the earlier ones never run again', async () => {
    const client = tq.client();
    const worker = tq.worker({ retryDelay: () => 10 });
    const calls: string[] = [];
    let failSecond = true;
    worker.handle(
      'pipeline',
      (t: Task<number>) => {
        calls.push('h1');
        return t.payload + 1;
      },
      (t) => {
        calls.push(`h2(${String(t.previous)})`);
        if (failSecond) {
          failSecond = false;
          throw new Error('h2 fails once');
        }
        return (t.previous as number) * 2;
      },
      (t) => {
        calls.push(`h3(${String(t.previous)})`);
        return `result ${String(t.previous)}`;
      },
    );
    await worker.start();
    const info = await client.enqueue('pipeline', 4, { retention: '1m' });
    expect(await client.waitForResult(info.id, { timeout: '10s' })).toBe('result 10');
    expect(calls).toEqual(['h1', 'h2(5)', 'h2(5)', 'h3(10)']);
  });

  it('TaskInspector.workflows lists them newest first, with states, and filters by state', async () => {
    const client = tq.client();
    const worker = tq.worker();
    worker.handle('ok', () => 1);
    worker.handle('bad', () => {
      throw new Error('no');
    });
    await worker.start();
    const done = await client.enqueueWorkflow(task('ok'), { id: 'wf-a' });
    await client.waitForWorkflow(done.id, { timeout: '5s' });
    const failed = await client.enqueueWorkflow(task('bad', {}, { maxRetry: 0 }), { id: 'wf-b' });
    await client.waitForWorkflow(failed.id, { timeout: '5s' }).catch(() => undefined);
    const running = await client.enqueueWorkflow(task('ok', {}, { processIn: '1h' }), { id: 'wf-c' });
    const inspector = tq.inspector();
    try {
      const all = await inspector.workflows();
      expect(all.map((w) => [w.id, w.state])).toEqual([
        [running.id, 'running'],
        [failed.id, 'failed'],
        [done.id, 'completed'],
      ]);
      expect(all[0].tasks[0].state).toBe('scheduled');
      expect((await inspector.workflows({ state: 'failed' })).map((w) => w.id)).toEqual([failed.id]);
      expect((await inspector.workflows({ page: 2, size: 2 })).map((w) => w.id)).toEqual([done.id]);
      await expect(inspector.workflows({ state: 'weird' as never })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(inspector.workflows({ size: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
    } finally {
      await inspector.close();
    }
  });

  describe('a worker failing between the steps of an advance leaves work the recovery round finishes', () => {
    for (const [step, method] of [
      ['after the finish, before the advance (the relay stays in the queue)', 'advance'],
      ['after the advance, before the dispatch (the outbox keeps the callback)', 'claim'],
      ['after the dispatch, before the relay is dropped', 'removeRelays'],
    ] as const) {
      it(step, async () => {
        const client = tq.client();
        const broker = flakyBroker(tq.broker());
        const worker = tq.worker({ broker, leaseDuration: '1s' });
        worker.on('error', () => undefined);
        let callbacks = 0;
        worker.handle('part', (t: Task<number>) => t.payload);
        worker.handle('sum', (t) => {
          callbacks++;
          return (t.previous as number[]).reduce((a, b) => a + b, 0);
        });
        broker.failNext('workflow', method, 1000);
        await worker.start();
        const info = await client.enqueueWorkflow(chord([task('part', 1), task('part', 2)], task('sum')));
        await waitFor(
          async () =>
            (await tq.broker().workflow.relays('default', Infinity, 1)).length > 0 || method === 'removeRelays',
          'a relay',
        );
        await new Promise((r) => setTimeout(r, 50));
        // The "dead" worker's step never happened; recovery (here by hand, as any worker's round would) finishes it.
        broker.failNext('workflow', method, 0);
        await waitFor(
          async () => {
            await worker.recoverWorkflowsNow();
            return (await client.getWorkflow(info.id))?.state === 'completed';
          },
          'the recovery round to finish the workflow',
          20_000,
          100,
        );
        expect((await client.getWorkflow(info.id))?.result).toBe(3);
        await new Promise((r) => setTimeout(r, 100));
        expect(callbacks).toBe(1);
      });
    }
  });

  describe('a client failing while it creates a workflow leaves one the recovery round dispatches', () => {
    for (const [step, part, method] of [
      ['after the create, before its first tasks are enqueued', 'producer', 'enqueue'],
      ['after its first tasks are enqueued, before their dispatch is recorded', 'workflow', 'dispatched'],
    ] as const) {
      it(step, async () => {
        // The client's clock runs 20 s behind, so the due mark it sets (10 s ahead) is already due for the worker.
        const broker = flakyBroker(tq.broker());
        const client = tq.client({ broker, clock: new SimulatedClock(Date.now() - 20_000) });
        const worker = tq.worker();
        const runs = new Map<number, number>();
        worker.handle('part', (t: Task<number>) => {
          runs.set(t.payload, (runs.get(t.payload) ?? 0) + 1);
          return t.payload;
        });
        worker.handle('sum', (t) => (t.previous as number[]).reduce((a, b) => a + b, 0));
        await worker.start();
        broker.failNext(part, method, 1);
        const parts = [1, 2, 3, 4, 5];
        const flow = chord(
          parts.map((n) => task('part', n)),
          task('sum'),
        );
        const failed = await client.enqueueWorkflow(flow, { id: `half-${method}` }).then(
          () => undefined,
          (err: unknown) => err as Error,
        );
        expect(failed?.message).toContain(`injected fault in ${part}.${method}`);
        const other = tq.client();
        await waitFor(
          async () => {
            await worker.recoverWorkflowsNow();
            return (await other.getWorkflow(`half-${method}`))?.state === 'completed';
          },
          'the recovery round to dispatch the first tasks and finish the workflow',
          20_000,
          100,
        );
        expect(await other.waitForWorkflow(`half-${method}`, { timeout: '5s' })).toBe(15);
        expect([...runs.entries()].sort((a, b) => a[0] - b[0])).toEqual(parts.map((n) => [n, 1]));
      });
    }
  });
});
