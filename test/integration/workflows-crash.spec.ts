import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chord, task, type Task, type TaskWorker } from '../../lib/core/index.js';
import { testRedisUrl } from '../helpers/redis.js';
import { useTaskq } from '../helpers/taskq.js';
import { waitFor } from '../helpers/wait.js';

const CHILD = fileURLToPath(new URL('../helpers/children/workflow-child.mjs', import.meta.url));

interface LogRecord {
  kind: 'callback' | 'step';
  workflowId?: string;
  id: string;
  retried?: number;
  previous?: unknown;
  step?: number;
  by: string;
}

function spawnChild(env: Record<string, string>): {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<unknown>;
} {
  const child = spawn(process.execPath, [CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`workflow child exited before ready (${code ?? signal})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"ready"')) resolve();
    });
  });
  ready.catch(() => undefined);
  return { child, ready, exited };
}

/** Workflows under crashes: a worker SIGKILLed anywhere in finish → advance → dispatch loses and duplicates nothing. */
describe('workflows under crashes', () => {
  const tq = useTaskq('wfcrash');

  /** The same handlers as the child, in this process, logging to the same list. */
  function peer(logKey: string): TaskWorker {
    const w = tq.worker({ concurrency: 20, leaseDuration: '2s' });
    const log = (r: Omit<LogRecord, 'by'>) => tq.admin.rpush(logKey, JSON.stringify({ ...r, by: 'peer' }));
    w.handle('member', async (t: Task<{ i: number }>) => {
      await new Promise((r) => setTimeout(r, 2));
      return t.payload.i;
    });
    w.handle('callback', async (t) => {
      await log({ kind: 'callback', workflowId: t.workflowId, id: t.id, retried: t.retried, previous: t.previous });
      return (t.previous as number[]).reduce((a, b) => a + b, 0);
    });
    w.handle(
      'steps',
      async (t) => {
        await log({ kind: 'step', step: 1, id: t.id });
        return 1;
      },
      async (t) => {
        await log({ kind: 'step', step: 2, id: t.id, previous: t.previous });
        return (t.previous as number) + 1;
      },
      async (t) => {
        await log({ kind: 'step', step: 3, id: t.id, previous: t.previous });
        return (t.previous as number) + 1;
      },
    );
    return w;
  }

  const records = async (logKey: string): Promise<LogRecord[]> =>
    (await tq.admin.lrange(logKey, 0, -1)).map((l) => JSON.parse(l) as LogRecord);

  it('a worker SIGKILLed during 200 chords: every callback runs, enqueued once, with every result in member order', async () => {
    const client = tq.client();
    const logKey = `${tq.prefix}:test:log`;
    const ids: string[] = [];
    for (let c = 0; c < 200; c++) {
      const flow = chord(
        Array.from({ length: 5 }, (_, i) => task('member', { i: c * 10 + i })),
        task('callback'),
      );
      ids.push((await client.enqueueWorkflow(flow)).id);
    }
    const child = spawnChild({
      REDIS_URL: testRedisUrl(),
      TASKQ_PREFIX: tq.prefix,
      TASKQ_LOG_KEY: logKey,
      TASKQ_LEASE: '2s',
    });
    try {
      await child.ready;
      await waitFor(async () => (await tq.admin.llen(logKey)) >= 40, '40 callbacks in the child', 15_000, 2);
      child.child.kill('SIGKILL');
      await child.exited;
      const atKill = (await records(logKey)).length;
      expect(atKill).toBeLessThan(200);
      await peer(logKey).start();
      await waitFor(
        async () => {
          const infos = await Promise.all(ids.map((id) => client.getWorkflow(id)));
          return infos.every((i) => i?.state === 'completed');
        },
        'every workflow to complete after the kill',
        25_000,
        200,
      );
      const callbacks = (await records(logKey)).filter((r) => r.kind === 'callback');
      const byWorkflow = new Map<string, LogRecord[]>();
      for (const r of callbacks) byWorkflow.set(r.workflowId!, [...(byWorkflow.get(r.workflowId!) ?? []), r]);
      expect(byWorkflow.size).toBe(200);
      ids.forEach((id, c) => {
        const runs = byWorkflow.get(id)!;
        // One callback task per workflow (one id); it ran again only if the kill caught it running, and then as its
        // next attempt (retried one higher): never two runs of the same attempt.
        expect(new Set(runs.map((r) => r.id))).toEqual(new Set([`${id}.5`]));
        expect(new Set(runs.map((r) => r.retried)).size).toBe(runs.length);
        for (const r of runs) expect(r.previous).toEqual([0, 1, 2, 3, 4].map((i) => c * 10 + i));
      });
      const results = await Promise.all(ids.map((id) => client.getWorkflow(id)));
      results.forEach((info, c) => expect(info?.result).toBe(5 * c * 10 + 10));
    } finally {
      child.child.kill('SIGKILL');
    }
  }, 60_000);

  it('a handler chain killed at step 2 resumes at step 2 on another worker: step 1 never runs again', async () => {
    const client = tq.client();
    const logKey = `${tq.prefix}:test:steps`;
    const child = spawnChild({
      REDIS_URL: testRedisUrl(),
      TASKQ_PREFIX: tq.prefix,
      TASKQ_LOG_KEY: logKey,
      TASKQ_LEASE: '1s',
      TASKQ_STEP_MS: '60000',
    });
    try {
      await child.ready;
      const info = await client.enqueue('steps', {}, { retention: '1m' });
      await waitFor(async () => (await records(logKey)).some((r) => r.step === 2), 'the child at step 2', 10_000);
      child.child.kill('SIGKILL');
      await child.exited;
      await peer(logKey).start();
      expect(await client.waitForResult(info.id, { timeout: '15s' })).toBe(3);
      const steps = (await records(logKey)).map((r) => `${r.by}:${r.step}`);
      expect(steps).toEqual(['child:1', 'child:2', 'peer:2', 'peer:3']);
    } finally {
      child.child.kill('SIGKILL');
    }
  }, 30_000);
});
