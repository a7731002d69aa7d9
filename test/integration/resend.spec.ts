import { describe, expect, it } from 'vitest';
import { RedisBroker } from '../../lib/core/broker/redis/redis-broker.js';
import { encodeMessage } from '../../lib/core/broker/codec.js';
import type { Redis } from 'ioredis';
import type { Task } from '../../lib/core/index.js';
import { useTaskq } from '../helpers/taskq.js';
import { deferred } from '../helpers/wait.js';

// ioredis re-sends commands whose reply was lost in a reconnect: a script that already ran runs again.
describe('re-sent script calls', () => {
  const tq = useTaskq('resend');
  const message = encodeMessage({
    type: 't',
    payload: 1,
    readyAt: Date.now(),
    maxRetry: 25,
    retried: 0,
    timeoutMs: 1_800_000,
    retentionMs: 0,
    headers: {},
  });

  it('a re-sent enqueue does not push the task twice', async () => {
    const broker = new RedisBroker(tq.admin, tq.prefix);
    const items = [
      { id: 'gen-1', message, checkId: false },
      { id: 'gen-2', message, checkId: false },
    ];
    expect(await broker.producer.enqueue('default', items, Date.now())).toEqual(['ok', 'ok']);
    expect(await broker.producer.enqueue('default', items, Date.now())).toEqual(['ok', 'ok']);
    expect(await tq.admin.lrange(tq.key('default', 'pending'), 0, -1)).toEqual(['gen-2', 'gen-1']);
    // A caller-chosen id still conflicts.
    expect(await broker.producer.enqueue('default', [{ id: 'gen-1', message, checkId: true }], Date.now())).toEqual([
      'conflict',
    ]);
  });

  it('a duplicate pending entry of a leased task is not leased again', async () => {
    const broker = new RedisBroker(tq.admin, tq.prefix);
    await broker.producer.enqueue('default', [{ id: 'dup', message, checkId: false }], Date.now());
    await tq.admin.lpush(tq.key('default', 'pending'), 'dup');
    const first = await broker.worker.dequeue('default', 1, '1000.5');
    expect(first.tasks.map((t) => t.message)).toEqual([message]);
    const second = await broker.worker.dequeue('default', 1, '2000.5');
    expect(second.tasks).toEqual([{ id: 'dup', message: '-' }]);
    expect(await tq.admin.zscore(tq.key('default', 'lease'), 'dup')).toBe('1000.5');
    // The same id twice in one pop is leased once.
    await tq.admin.lpush(tq.key('default', 'pending'), 'x', 'x');
    await tq.admin.hset(tq.key('default', 't'), 'x', message);
    const both = await broker.worker.dequeue('default', 2, '3000.5');
    expect(both.tasks.map((t) => t.message)).toEqual([message, '-']);
  });

  it('after a reconnect, tasks leased to this worker by a dequeue whose reply was lost run at once', async () => {
    const worker = tq.worker({ leaseDuration: '30s' });
    const ran = deferred<Task>();
    worker.handle('t', (task) => ran.resolve(task));
    await worker.start();
    // What the first execution of a re-sent dequeue leaves behind: a lease with this worker's tag, nobody running it.
    const running = (worker as unknown as { parts: { running: { leaseScore(): string } } }).parts.running;
    await tq.admin.hset(tq.key('default', 't'), 'stranded', message);
    await tq.admin.zadd(tq.key('default', 'lease'), running.leaseScore(), 'stranded');
    await tq.admin.sadd(tq.key('default', 'active'), 'stranded');
    const t0 = Date.now();
    (worker.redis as Redis).disconnect(true);
    const task = await ran.promise;
    expect(task.id).toBe('stranded');
    expect(task.retried).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
