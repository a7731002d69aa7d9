import { Controller, Injectable, type INestApplication, type OnModuleDestroy } from '@nestjs/common';
import {
  ClientProxyFactory,
  MessagePattern,
  Payload,
  Transport,
  type ClientProxy,
  type ServerTCP,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskClient, type TaskWorker } from '../../lib/core/index.js';
import { TaskHandler, TaskqModule, TaskqServer, TASKQ_TRANSPORT } from '../../lib/nest/index.js';
import { freePort } from '../helpers/redis-server.js';
import { cleanupPrefix, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { deferred, waitFor } from '../helpers/wait.js';

@Injectable()
class Database implements OnModuleDestroy {
  destroyed = false;
  onModuleDestroy(): void {
    this.destroyed = true;
  }
  query(sql: string): string {
    if (this.destroyed) throw new Error('the pool is closed');
    return `rows of ${sql}`;
  }
}

const started = deferred<string>();
const gate = deferred();
const sawDatabase: string[] = [];

@Controller()
class ReportTasks {
  constructor(private readonly db: Database) {}

  @TaskHandler('report:build')
  async build(@Payload() p: { name: string }) {
    started.resolve(p.name);
    await gate.promise;
    const rows = this.db.query(`select ${p.name}`);
    sawDatabase.push(rows);
    return rows;
  }

  @TaskHandler('report:quick')
  quick(@Payload() n: number) {
    return n + 1;
  }
}

@Controller()
class TcpHandlers {
  @MessagePattern('tcp:sum', Transport.TCP)
  sum(@Payload() nums: number[]) {
    return nums.reduce((a, b) => a + b, 0);
  }
}

describe('hybrid app (HTTP + TCP + taskq)', () => {
  const prefix = uniquePrefix('hybrid');
  let app: INestApplication;
  let taskq: TaskqServer;
  let tcp: ClientProxy;
  let tcpPort: number;

  beforeAll(async () => {
    tcpPort = await freePort();
    const moduleRef = await Test.createTestingModule({
      imports: [TaskqModule.forRoot({ connection: testRedisUrl(), prefix })],
      controllers: [ReportTasks, TcpHandlers],
      providers: [Database],
    }).compile();
    app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
    app.enableShutdownHooks();
    taskq = new TaskqServer({
      connection: testRedisUrl(),
      prefix,
      shutdownTimeout: '10s',
      retryDelay: () => 10,
    });
    app.connectMicroservice({ strategy: taskq });
    app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort } });
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    tcp = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port: tcpPort },
    });
  });

  afterAll(async () => {
    await tcp.close();
    await app.close();
    const redis = testRedis();
    await cleanupPrefix(redis, prefix);
    redis.disconnect();
  });

  it('binds task handlers to taskq only and TCP handlers to TCP only', async () => {
    expect(taskq.transportId).toBe(TASKQ_TRANSPORT);
    expect([...taskq.getHandlers().keys()].sort()).toEqual(['report:build', 'report:quick']);
    const tcpServer = app
      .getMicroservices()
      .map((m) => m.getTransportServer?.() as unknown)
      .find((s) => s !== taskq) as ServerTCP;
    expect([...tcpServer.getHandlers().keys()]).toEqual(['tcp:sum']);
    expect(await lastValueFrom(tcp.send('tcp:sum', [1, 2, 3]))).toBe(6);
    const producer = new TaskClient({ connection: testRedisUrl(), prefix });
    try {
      const { result } = await producer.enqueueAndWait<number>('report:quick', 41);
      expect(await result).toBe(42);
    } finally {
      await producer.close();
    }
  });

  it('app.close() lets a task in flight finish before user providers are destroyed', async () => {
    const producer = new TaskClient({ connection: testRedisUrl(), prefix });
    const info = await producer.enqueue('report:build', { name: 'q3' }, { retention: '1h' });
    expect(await started.promise).toBe('q3');
    const worker = taskq.unwrap<TaskWorker>();
    const closing = app.close();
    // The worker stops fetching first; only then is the task allowed to go on.
    await waitFor(() => !worker.running, 'the worker to start its graceful shutdown');
    const db = app.get(Database);
    expect(db.destroyed).toBe(false);
    gate.resolve();
    await closing;
    expect(sawDatabase).toEqual(['rows of select q3']);
    expect(db.destroyed).toBe(true);
    expect((await producer.getTask(info.id))?.state).toBe('completed');
    await producer.close();
  });
});
