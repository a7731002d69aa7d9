/**
 * One workflow measurement in its own Node process (spawned by workflow.ts): argv <mode> <url> <params JSON>, prints
 * one JSON line with the result. Modes:
 *  - `plain`: N no-op tasks enqueued with enqueueMany (batches of 1000) and drained by one worker (conc 100);
 *    end-to-end ms from the first enqueue to the last acknowledgement.
 *  - `chord`: a chord of N no-op members and a callback, one worker (conc 100); ms from enqueueWorkflow to the
 *    callback's completion written.
 *  - `flow`: BullMQ FlowProducer, one parent with N children, one worker (conc 100); ms to the parent's completion.
 *  - `latency`: chords of 5 members on an idle worker, one after the other: ms from the last member's handler
 *    returning to the callback's handler starting (acknowledgement, advance, dispatch and pickup included).
 *  - `memory`: a group of N members enqueued with no worker running, and N plain pending tasks: used_memory per task.
 */
import { FlowProducer, Queue, Worker } from 'bullmq';
import { chord, group, task, TaskClient, TaskWorker } from '../lib/core/index.js';
import { SMALL_PAYLOAD } from './adapters/types.js';
import { ServerProbe } from './redis.js';
import { nowMs, sleep } from './stats.js';

const PREFIX = 'taskq';

interface Params {
  tasks: number;
  latencyChords?: number;
}

async function drainedAndAcked(probe: ServerProbe, queue: string): Promise<void> {
  const active = `${PREFIX}:{${queue}}:active`;
  const pending = `${PREFIX}:{${queue}}:pending`;
  while ((await probe.exists(active, pending)) > 0) await sleep(1);
}

async function plain(url: string, p: Params): Promise<unknown> {
  const queue = 'wf-plain';
  const client = new TaskClient({ connection: url, prefix: PREFIX });
  const worker = new TaskWorker({ connection: url, prefix: PREFIX, concurrency: 100, queues: [queue] });
  const probe = new ServerProbe(url);
  let done = 0;
  const all = new Promise<void>((resolve) =>
    worker.handle('noop', () => {
      if (++done === p.tasks) resolve();
    }),
  );
  await worker.start();
  await client.redis.ping();
  const t0 = nowMs();
  for (let i = 0; i < p.tasks; i += 1000) {
    const n = Math.min(1000, p.tasks - i);
    await client.enqueueMany(
      Array.from({ length: n }, () => ({ type: 'noop', payload: { ...SMALL_PAYLOAD }, options: { queue } })),
    );
  }
  await all;
  await drainedAndAcked(probe, queue);
  const ms = nowMs() - t0;
  await Promise.all([worker.shutdown(), client.close(), probe.close()]);
  return { ms };
}

async function chordRun(url: string, p: Params): Promise<unknown> {
  const client = new TaskClient({ connection: url, prefix: PREFIX });
  const worker = new TaskWorker({ connection: url, prefix: PREFIX, concurrency: 100 });
  worker.handle('noop', () => undefined);
  let callbackStarted = 0;
  worker.handle('callback', (t) => {
    callbackStarted = nowMs();
    return (t.previous as unknown[]).length;
  });
  await worker.start();
  await client.redis.ping();
  const t0 = nowMs();
  const info = await client.enqueueWorkflow(
    chord(
      Array.from({ length: p.tasks }, () => task('noop', { ...SMALL_PAYLOAD })),
      task('callback'),
    ),
  );
  const result = await client.waitForWorkflow<number>(info.id, { timeout: '5m' });
  const ms = nowMs() - t0;
  if (result !== p.tasks) throw new Error(`the callback saw ${result} results, expected ${p.tasks}`);
  await Promise.all([worker.shutdown(), client.close()]);
  return { ms, callbackAfterMs: callbackStarted - t0 };
}

async function flow(url: string, p: Params): Promise<unknown> {
  const u = new URL(url);
  const connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
  const queueName = 'wf-flow';
  const producer = new FlowProducer({ connection });
  let resolveParent!: () => void;
  const parentDone = new Promise<void>((r) => (resolveParent = r));
  const worker = new Worker(
    queueName,
    async (job) => {
      if (job.name === 'callback') return Object.keys(await job.getChildrenValues()).length;
      return undefined;
    },
    { connection, concurrency: 100 },
  );
  worker.on('completed', (job) => {
    if (job.name === 'callback') resolveParent();
  });
  await worker.waitUntilReady();
  const t0 = nowMs();
  await producer.add({
    name: 'callback',
    queueName,
    children: Array.from({ length: p.tasks }, () => ({ name: 'noop', queueName, data: { ...SMALL_PAYLOAD } })),
  });
  await parentDone;
  const ms = nowMs() - t0;
  await Promise.all([worker.close(), producer.close()]);
  const q = new Queue(queueName, { connection });
  await q.obliterate({ force: true });
  await q.close();
  return { ms };
}

async function latency(url: string, p: Params): Promise<unknown> {
  const client = new TaskClient({ connection: url, prefix: PREFIX });
  const worker = new TaskWorker({ connection: url, prefix: PREFIX, concurrency: 100 });
  let lastMemberReturned = 0;
  let membersLeft = 0;
  let onCallback: (() => void) | undefined;
  const samples: number[] = [];
  worker.handle('noop', () => {
    if (--membersLeft === 0) lastMemberReturned = nowMs();
  });
  worker.handle('callback', () => {
    samples.push(nowMs() - lastMemberReturned);
    onCallback?.();
  });
  await worker.start();
  await client.redis.ping();
  const total = p.latencyChords ?? 200;
  for (let i = 0; i < total + 20; i++) {
    membersLeft = 5;
    const called = new Promise<void>((r) => (onCallback = r));
    await client.enqueueWorkflow(
      chord(
        Array.from({ length: 5 }, () => task('noop', {})),
        task('callback'),
      ),
    );
    await called;
    await sleep(2);
  }
  await Promise.all([worker.shutdown(), client.close()]);
  return { samples: samples.slice(20) };
}

async function memory(url: string, p: Params): Promise<unknown> {
  const probe = new ServerProbe(url);
  const client = new TaskClient({ connection: url, prefix: PREFIX });
  await probe.flushAll();
  const before = await probe.usedMemory();
  for (let i = 0; i < p.tasks; i += 1000) {
    const n = Math.min(1000, p.tasks - i);
    await client.enqueueMany(
      Array.from({ length: n }, () => ({ type: 'noop', payload: { ...SMALL_PAYLOAD }, options: { queue: 'mem' } })),
    );
  }
  await sleep(300);
  const plainBytes = ((await probe.usedMemory()) - before) / p.tasks;
  await probe.flushAll();
  const before2 = await probe.usedMemory();
  await client.enqueueWorkflow(
    group(...Array.from({ length: p.tasks }, () => task('noop', { ...SMALL_PAYLOAD }, { queue: 'mem' }))),
  );
  await sleep(300);
  const memberBytes = ((await probe.usedMemory()) - before2) / p.tasks;
  await probe.flushAll();
  await Promise.all([client.close(), probe.close()]);
  return { plainBytes, memberBytes };
}

async function main(): Promise<void> {
  const [mode, url, raw] = process.argv.slice(2);
  const p = JSON.parse(raw ?? '{}') as Params;
  const run = { plain, chord: chordRun, flow, latency, memory }[mode as 'plain'];
  if (!run || !url) throw new Error('usage: workflow-child.js <plain|chord|flow|latency|memory> <url> <params JSON>');
  process.stdout.write(`${JSON.stringify(await run(url, p))}\n`);
  process.exit(0);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
