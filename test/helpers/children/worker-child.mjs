// A TaskWorker in its own process, for tests that kill it with SIGKILL mid-run (test/integration/crash*.spec.ts).
// Plain JS on the compiled engine (TASKQ_CORE_DIST, built once per run by the global setup): no TS loader needed.
// env: REDIS_URL, TASKQ_PREFIX, TASKQ_CORE_DIST, TASKQ_TYPE (task type handled), TASKQ_DONE_KEY (a list: each
//   handler RPUSHes its task id there just before returning), TASKQ_CONCURRENCY, TASKQ_LEASE, TASKQ_MIN_MS and
//   TASKQ_MAX_MS (each handler waits a random time in that range).
// stdout: one JSON line per event: {"event":"ready"}, {"event":"error","message"}; SIGTERM: graceful shutdown,
//   {"event":"stopped"} and exit 0.
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
const minMs = Number(env('TASKQ_MIN_MS', '20'));
const maxMs = Number(env('TASKQ_MAX_MS', '50'));
const doneKey = env('TASKQ_DONE_KEY');

const worker = new TaskWorker({
  connection: env('REDIS_URL'),
  prefix: env('TASKQ_PREFIX'),
  concurrency: Number(env('TASKQ_CONCURRENCY', '10')),
  leaseDuration: env('TASKQ_LEASE', '2s'),
});
worker.on('error', (err) => emit({ event: 'error', message: err.message }));
worker.handle(env('TASKQ_TYPE', 'job'), async (task) => {
  await new Promise((r) => setTimeout(r, minMs + Math.random() * (maxMs - minMs)));
  await worker.redis.rpush(doneKey, task.id);
  return 'child';
});
process.on('SIGTERM', () => {
  void worker.shutdown().then(() => {
    emit({ event: 'stopped' });
    process.exit(0);
  });
});
await worker.start();
emit({ event: 'ready' });
