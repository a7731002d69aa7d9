import { Controller, type LoggerService } from '@nestjs/common';
import { Payload, EventPattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../lib/core/index.js';
import { TaskHandler, TaskqClient, TaskqServer } from '../../lib/nest/index.js';
import { cleanupPrefix, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

@Controller()
class NoopTasks {
  @TaskHandler('noop')
  noop() {
    return 1;
  }
}

@Controller()
class EmailTasks {
  @TaskHandler('email:welcome')
  welcome(@Payload() p: unknown) {
    return p;
  }
}

@Controller()
class MoreEmailTasks {
  @TaskHandler('email:welcome')
  welcomeAgain(@Payload() p: unknown) {
    return p;
  }
}

@Controller()
class EmptyType {
  @TaskHandler('')
  nothing() {
    return 1;
  }
}

@Controller()
class NoHandlers {
  @EventPattern<string>('tcp-only', Symbol('other'))
  other() {
    return 1;
  }
}

class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

async function listen(controllers: (new () => object)[], logger?: LoggerService) {
  const prefix = uniquePrefix('bad');
  const moduleRef = await Test.createTestingModule({ controllers }).compile();
  const app = moduleRef.createNestMicroservice({
    strategy: new TaskqServer({ connection: testRedisUrl(), prefix }),
    logger: logger ?? false,
  });
  return { app, prefix };
}

describe('bad input', () => {
  const prefix = uniquePrefix('bad-client');
  let client: TaskqClient;
  beforeAll(() => {
    client = new TaskqClient({ connection: testRedisUrl(), prefix });
  });
  afterAll(async () => {
    await client.close();
    const redis = testRedis();
    await cleanupPrefix(redis, prefix);
    redis.disconnect();
  });

  it('newTask with an invalid option rejects with InvalidOptionError naming it', async () => {
    const err = await client.newTask('noop', {}, { maxRetry: -1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).field).toBe('maxRetry');
    const unknownOption = await client.newTask('noop', {}, { procesIn: '1s' } as never).catch((e: unknown) => e);
    expect(unknownOption).toBeInstanceOf(InvalidOptionError);
    expect((unknownOption as InvalidOptionError).field).toBe('procesIn');
  });

  it('newTask with a payload that cannot be serialized rejects with InvalidOptionError', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const err = await client.newTask('noop', circular).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).field).toBe('payload');
    const big = await client.newTask('noop', { n: 10n }).catch((e: unknown) => e);
    expect(big).toBeInstanceOf(InvalidOptionError);
  });

  it('emit() and send() error with the same typed errors', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(lastValueFrom(client.emit('noop', circular))).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(lastValueFrom(client.send('noop', circular))).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(lastValueFrom(client.emit('', {}))).rejects.toThrow(/type/);
  });

  it('two methods for one task type fail at startup, naming both', async () => {
    const { app } = await listen([EmailTasks, MoreEmailTasks]);
    const err = await app.listen().catch((e: unknown) => e);
    await app.close();
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toContain('EmailTasks.welcome');
    expect((err as Error).message).toContain('MoreEmailTasks.welcomeAgain');
  });

  it('an empty task type fails at startup, naming the method', async () => {
    const { app } = await listen([EmptyType]);
    const err = await app.listen().catch((e: unknown) => e);
    await app.close();
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toContain('EmptyType.nothing');
  });

  it('a server without any handler logs a warning and still starts', async () => {
    const logger = new CapturingLogger();
    const { app } = await listen([NoHandlers], logger);
    await app.listen();
    const server = app.getTransportServer?.() as unknown as TaskqServer | undefined;
    expect(server?.unwrap()).toBeDefined();
    await app.close();
    expect(logger.warnings.some((w) => w.includes('without any @TaskHandler'))).toBe(true);
  });

  it('unwrap() before listen throws a helpful error', () => {
    expect(() => new TaskqServer().unwrap()).toThrow(/startAllMicroservices/);
  });

  it('listen reports an unreachable Redis through the callback (app.listen rejects)', async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [NoopTasks] }).compile();
    const app = moduleRef.createNestMicroservice({
      strategy: new TaskqServer({ connection: { port: 1, host: '127.0.0.1', retryStrategy: () => null } }),
      logger: false,
    });
    await expect(app.listen()).rejects.toThrow(/Redis|connect|ECONNREFUSED/i);
    await app.close();
  });
});
