/**
 * One TaskScheduler in its own process for bench/scheduler.ts. env: REDIS_URL, TASKQ_PREFIX.
 * IPC: sends { type: 'ready' } once started; on { type: 'report', from, to } replies { type: 'report', fires, lateness }
 * with the ticks this process won whose fire time is in [from, to) (lateness = script reply time - fire time, ms,
 * on the Redis-aligned clock); on { type: 'stop' } shuts down and exits.
 */
import { TaskScheduler } from '../lib/core/periodic/scheduler.js';

const fireTimes: number[] = [];
const lateness: number[] = [];
const errors: string[] = [];

const scheduler = new TaskScheduler({
  connection: process.env.REDIS_URL,
  prefix: process.env.TASKQ_PREFIX,
  onFire: (e) => {
    const fire = e.fireTime.getTime();
    fireTimes.push(fire);
    lateness.push(e.enqueuedAt.getTime() - fire);
  },
  logger: { error: (m) => errors.push(m), warn: () => undefined },
});

process.on('message', (message: { type: string; from?: number; to?: number }) => {
  if (message.type === 'report') {
    const fires: number[] = [];
    const late: number[] = [];
    fireTimes.forEach((t, i) => {
      if (t >= message.from! && t < message.to!) {
        fires.push(t);
        late.push(lateness[i]!);
      }
    });
    process.send!({ type: 'report', fires, lateness: late, errors });
  } else if (message.type === 'stop') {
    void scheduler.shutdown().then(() => process.exit(0));
  }
});

await scheduler.start();
process.send!({ type: 'ready' });
