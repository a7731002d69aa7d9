import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskHandler, TaskqClient, TaskqServer, TaskqStatus } from '../../lib/nest/index.js';
import { startPrivateRedis, type PrivateRedisServer } from '../helpers/redis-server.js';
import { uniquePrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const handled: number[] = [];

@Controller()
class PingTasks {
  @TaskHandler('ping')
  ping(@Payload() n: number) {
    handled.push(n);
    return n;
  }
}

describe('status across a Redis restart', () => {
  let redis: PrivateRedisServer;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('server and client report connected → reconnecting → connected, and tasks flow again', async () => {
    const prefix = uniquePrefix('status');
    const server = new TaskqServer({ connection: redis.url, prefix });
    const observed: string[] = [];
    const viaOn: string[] = [];
    server.status.subscribe((s) => observed.push(s));
    server.on('status', (s) => viaOn.push(s)); // registered before listen
    const moduleRef = await Test.createTestingModule({ controllers: [PingTasks] }).compile();
    const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    const client = new TaskqClient({ connection: redis.url, prefix });
    const clientStatus: string[] = [];
    client.status.subscribe((s) => clientStatus.push(s));
    try {
      await app.listen();
      expect(await lastValueFrom(client.send('ping', 1))).toBe(1);
      expect(observed.at(-1)).toBe(TaskqStatus.CONNECTED);

      await redis.kill();
      await waitFor(() => observed.includes(TaskqStatus.RECONNECTING), 'the server to report reconnecting');
      await waitFor(() => clientStatus.includes(TaskqStatus.RECONNECTING), 'the client to report reconnecting');
      await redis.start();
      await waitFor(() => observed.at(-1) === TaskqStatus.CONNECTED, 'the server to report connected again', 20_000);
      await waitFor(
        () => clientStatus.at(-1) === TaskqStatus.CONNECTED,
        'the client to report connected again',
        20_000,
      );
      expect(viaOn).toContain('reconnecting');

      await lastValueFrom(client.emit('ping', 2));
      await waitFor(() => handled.includes(2), 'the task enqueued after the restart to run', 20_000);
      // send() right after the restart: a result published while the client's subscriber was still reconnecting is
      // kept for a grace period and re-read once it is back, so the reply is never lost.
      expect(await lastValueFrom(client.send('ping', 3))).toBe(3);
    } finally {
      await client.close();
      await app.close();
    }
    expect(observed.at(-1)).toBe(TaskqStatus.DISCONNECTED);
  }, 60_000);
});
