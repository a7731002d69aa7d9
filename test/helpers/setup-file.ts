import 'reflect-metadata';
import { ConsoleLogger } from '@nestjs/common';
import { beforeEach, inject } from 'vitest';

process.env.REDIS_URL = inject('redisUrl');
process.env.TASKQ_CORE_DIST = inject('coreDist');

/**
 * Nest's console output during a test is held back and printed only when the test fails. Many tests expect failures
 * (archived tasks, refused payloads), and Nest logs those in red: printed always, red in the output would mean
 * nothing. A failing test still shows everything Nest said while it ran.
 */
type Print = (this: ConsoleLogger, ...args: unknown[]) => void;
const proto = ConsoleLogger.prototype as unknown as { printMessages: Print };
const print = proto.printMessages;
let held: { logger: ConsoleLogger; args: unknown[] }[] = [];
proto.printMessages = function (this: ConsoleLogger, ...args: unknown[]) {
  held.push({ logger: this, args });
};

beforeEach((ctx) => {
  // Each test holds its own lines: failure callbacks run after the afterEach hooks, when the next test may not have
  // started yet but this one's lines must still be there.
  const mine: typeof held = [];
  held = mine;
  ctx.onTestFailed(() => {
    for (const { logger, args } of mine) print.apply(logger, args);
  });
});
