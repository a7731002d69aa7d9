// A TaskScheduler in its own process, for tests that run several schedulers and kill one with SIGKILL.
// Plain JS on the compiled engine (TASKQ_CORE_DIST, built once per run by the global setup), so no TS loader is needed.
// env: REDIS_URL, TASKQ_PREFIX, TASKQ_CORE_DIST. Prints one JSON line per event on stdout:
//   {"event":"ready"}  then  {"event":"fire","id","fireTime","taskId","lateness"} per tick this process won.
// SIGTERM: graceful shutdown, then {"event":"stopped"} and exit 0.
import { pathToFileURL } from 'node:url';

const dist = process.env.TASKQ_CORE_DIST;
if (!dist) throw new Error('TASKQ_CORE_DIST is not set');
const { TaskScheduler } = await import(pathToFileURL(dist).href);

const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const scheduler = new TaskScheduler({
  connection: process.env.REDIS_URL,
  prefix: process.env.TASKQ_PREFIX,
  onFire: (e) =>
    emit({
      event: 'fire',
      id: e.id,
      fireTime: e.fireTime.getTime(),
      taskId: e.taskId,
      lateness: e.enqueuedAt.getTime() - e.fireTime.getTime(),
    }),
  logger: {
    error: (m) => emit({ event: 'error', message: m }),
    warn: (m) => emit({ event: 'warn', message: m }),
  },
});
process.on('SIGTERM', () => {
  void scheduler.shutdown().then(() => {
    emit({ event: 'stopped' });
    process.exit(0);
  });
});
await scheduler.start();
emit({ event: 'ready' });
