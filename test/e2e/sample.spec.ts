import type { LoggerService } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrap, type RunningSample } from '../../sample/src/app.js';
import { cleanupPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown, context?: string): void {
    this.lines.push(`[${context ?? ''}] ${String(message)}`);
  }
  warn(message: unknown, context?: string): void {
    this.log(message, context);
  }
  error(message: unknown, context?: string): void {
    this.log(message, context);
  }
}

describe('the sample app', () => {
  const prefix = uniquePrefix('sample');
  let running: RunningSample | undefined;
  afterAll(async () => {
    await running?.close();
    const redis = testRedis();
    await cleanupPrefix(redis, prefix);
    redis.disconnect();
  });

  it('runs its demo: every feature shows up in the log within seconds', async () => {
    process.env.TASKQ_PREFIX = prefix;
    const logger = new CapturingLogger();
    running = await bootstrap({ demo: true, logger });
    await running.demo;
    const log = logger.lines.join('\n');
    expect(log).toMatch(/welcome email to ada@example\.com/);
    expect(log).toMatch(/reminder email to ada@example\.com, \d+ ms after signup/);
    expect(log).toMatch(/imported grace@example\.com, age 36/);
    expect(log).toMatch(
      /user:import \S+ archived at once, never retried: email must be an email; age must not be less than 0/,
    );
    expect(log).toMatch(/attempt 1 fails[\s\S]*attempt 2 fails[\s\S]*charged 42 for order A-1 on attempt 3/);
    expect(log).toMatch(/GET \/reports\/\w+ → \{"userId"/);
    expect(log).toMatch(/periodic task fired/);
    expect(log).toMatch(
      /recorded 3 sizes of cat\.png: cat-320\.webp, cat-640\.webp, cat-1280\.webp \(chord callback, once\)/,
    );
    expect(log).toMatch(/Demo finished in \d+ ms/);
  }, 40_000);
});
