// A TaskWorker running workflow handlers in its own process, for tests that kill it with SIGKILL mid-run
// (test/integration/workflows-crash.spec.ts). Plain JS on the compiled engine (TASKQ_CORE_DIST).
// env: REDIS_URL, TASKQ_PREFIX, TASKQ_CORE_DIST, TASKQ_LOG_KEY (a list: every handler run RPUSHes a JSON record),
//   TASKQ_CONCURRENCY, TASKQ_LEASE. Handlers: `member` (waits 5-25 ms, returns payload.i), `callback` (returns the sum
//   of task.previous), `steps` (a handler chain of 3, each step logged; step 2 waits TASKQ_STEP_MS).
// stdout: {"event":"ready"}, {"event":"error","message"}.
import { pathToFileURL } from 'node:url';

const env = (name, fallback) => {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (fallback === undefined) throw new Error(`${name} is not set`);
    return fallback;
  }
  return v;
};
const { TaskWorker } = await import(pathToFileURL(env('TASKQ_CORE_DIST')).href);
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const logKey = env('TASKQ_LOG_KEY');
const stepMs = Number(env('TASKQ_STEP_MS', '0'));

const worker = new TaskWorker({
  connection: env('REDIS_URL'),
  prefix: env('TASKQ_PREFIX'),
  concurrency: Number(env('TASKQ_CONCURRENCY', '20')),
  leaseDuration: env('TASKQ_LEASE', '2s'),
});
const log = (record) => worker.redis.rpush(logKey, JSON.stringify({ ...record, by: 'child' }));
worker.on('error', (err) => emit({ event: 'error', message: err.message }));
worker.handle('member', async (task) => {
  await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
  return task.payload.i;
});
worker.handle('callback', async (task) => {
  await log({
    kind: 'callback',
    workflowId: task.workflowId,
    id: task.id,
    retried: task.retried,
    previous: task.previous,
  });
  return task.previous.reduce((a, b) => a + b, 0);
});
worker.handle(
  'steps',
  async (task) => {
    await log({ kind: 'step', step: 1, id: task.id });
    return 1;
  },
  async (task) => {
    await log({ kind: 'step', step: 2, id: task.id, previous: task.previous });
    await new Promise((r) => setTimeout(r, stepMs));
    return task.previous + 1;
  },
  async (task) => {
    await log({ kind: 'step', step: 3, id: task.id, previous: task.previous });
    return task.previous + 1;
  },
);
await worker.start();
emit({ event: 'ready' });
