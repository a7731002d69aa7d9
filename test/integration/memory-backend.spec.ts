import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore, dropMemoryStore } from '../../lib/core/broker/memory/registry.js';
import type { MemoryStore } from '../../lib/core/broker/memory/store.js';
import {
  ClosedError,
  DuplicateTaskError,
  InvalidOptionError,
  InvalidStateError,
  SimulatedClock,
  TaskClient,
  TaskInspector,
  TaskScheduler,
  TaskWorker,
  type BrokerStatus,
} from '../../lib/core/index.js';
import { pointRedisUrlNowhere } from '../helpers/no-redis.js';
import { waitFor } from '../helpers/wait.js';

/** What only the in-memory backend has: its connection strings, stores by name, and a store's own clock. */
describe('the in-memory backend', () => {
  const closers: (() => Promise<unknown>)[] = [];
  const stores: MemoryStore[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    for (const s of stores.splice(0)) dropMemoryStore(s);
  });
  const client = (connection: string, prefix?: string): TaskClient => {
    const c = new TaskClient({ connection, prefix });
    closers.push(() => c.close());
    return c;
  };
  const store = (name: string, clock?: SimulatedClock): MemoryStore => {
    const s = createMemoryStore(`${name}-${process.pid}-${Math.random().toString(36).slice(2)}`, clock);
    stores.push(s);
    return s;
  };

  it('memory:// with an invalid name is refused by every class, naming connection and what is allowed', () => {
    const bad = ['memory://a b', 'memory://x/y', 'memory:name', 'memory://é', `memory://${'n'.repeat(65)}`];
    const makers = [
      (c: string) => new TaskClient({ connection: c }),
      (c: string) => new TaskWorker({ connection: c }),
      (c: string) => new TaskInspector({ connection: c }),
      (c: string) => new TaskScheduler({ connection: c }),
    ];
    for (const connection of bad) {
      for (const make of makers) {
        let thrown: unknown;
        try {
          make(connection);
        } catch (err) {
          thrown = err;
        }
        expect(thrown, connection).toBeInstanceOf(InvalidOptionError);
        expect((thrown as InvalidOptionError).field).toBe('connection');
        expect((thrown as Error).message).toContain(JSON.stringify(connection));
        expect((thrown as Error).message).toMatch(/memory:\/\/ \(the store named 'default'\) or memory:\/\/NAME/);
      }
    }
  });

  it('a store per name: memory:// is the store named default; other names and prefixes are separate', async () => {
    const a = store('a');
    const b = store('b');
    const info = await client(a.url).enqueue('t', 1);
    expect(await client(a.url).getTask(info.id)).toMatchObject({ id: info.id, state: 'pending' });
    expect(await client(b.url).getTask(info.id)).toBeNull();
    expect(await client(a.url, 'other-prefix').getTask(info.id)).toBeNull();
    const prefix = `p-${Math.random().toString(36).slice(2)}`;
    const onDefault = await client('memory://', prefix).enqueue('t', 2);
    expect(await client('memory://default', prefix).getTask(onDefault.id)).toMatchObject({ payload: 2 });
    await client('memory://', prefix).cancel(onDefault.id);
  });

  it('runs without Redis: nothing tries to connect, even with REDIS_URL set', async () => {
    const nowhere = await pointRedisUrlNowhere();
    try {
      const s = store('no-redis');
      const worker = new TaskWorker({ connection: s.url });
      closers.push(() => worker.shutdown());
      worker.handle('double', (task) => (task.payload as number) * 2);
      await worker.start();
      const { result } = await client(s.url).enqueueAndWait<number>('double', 21);
      expect(await result).toBe(42);
    } finally {
      await nowhere.restore();
    }
    expect(nowhere.connections).toBe(0);
  });

  it('has no Redis connection to hand out, reports connected, and refuses calls once closed', async () => {
    const s = store('lifecycle');
    const c = new TaskClient({ connection: s.url });
    const statuses: BrokerStatus[] = [];
    c.on('status', (status) => statuses.push(status));
    expect(() => c.redis).toThrow(InvalidStateError);
    expect(() => c.redis).toThrow(`TaskClient does not use Redis (connection ${s.url})`);
    await waitFor(() => statuses.includes('connected'), 'connected');
    expect(c.isReady).toBe(true);
    await c.close();
    await expect(c.enqueue('x', 1)).rejects.toBeInstanceOf(ClosedError);
  });

  it('objects on a store follow its clock by default, and so do unique locks (their TTL is the store’s)', async () => {
    const clock = new SimulatedClock(Date.UTC(2030, 0, 1));
    const s = store('clock', clock);
    const c = client(s.url);
    const first = await c.enqueue('report', { day: 1 }, { unique: '1h', processIn: '10m' });
    expect(first.nextProcessAt?.getTime()).toBe(Date.UTC(2030, 0, 1, 0, 10));
    await expect(c.enqueue('report', { day: 1 }, { unique: '1h' })).rejects.toBeInstanceOf(DuplicateTaskError);
    // A scheduled task holds its lock until it is due plus the unique window: 1h10m.
    clock.advance(70 * 60_000 - 1);
    await expect(c.enqueue('report', { day: 1 }, { unique: '1h' })).rejects.toBeInstanceOf(DuplicateTaskError);
    clock.advance(1);
    expect((await c.enqueue('report', { day: 1 }, { unique: '1h' })).state).toBe('pending');
    const inspector = new TaskInspector({ connection: s.url });
    closers.push(() => inspector.close());
    expect((await inspector.queueInfo('default')).timestamp.getTime()).toBe(clock.now());
  });
});
