import 'reflect-metadata';
import { Logger, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TaskqServer } from '../../lib/nest/index.js';
import { Redis } from 'ioredis';
import { AppModule, choosePrefix } from './app.module.js';
import { DemoProgress } from './demo-progress.service.js';
import { findRedis, type SampleRedis } from './redis.js';

/** A running sample. */
export interface RunningSample {
  app: INestApplication;
  url: string;
  redis: SampleRedis;
  /** Settles when the demo finished (only with `demo: true`). */
  demo?: Promise<void>;
  close(): Promise<void>;
}

const DEMO_TIMEOUT_MS = 30_000;

/**
 * Starts the sample: finds (or starts) Redis, an HTTP app with the taskq transport connected, and optionally runs
 * the demo against itself.
 */
export async function bootstrap(
  options: { demo?: boolean; logger?: LoggerService; port?: number } = {},
): Promise<RunningSample> {
  const logger = new Logger('Sample');
  if (options.logger) Logger.overrideLogger(options.logger);
  const redis = await findRedis();
  process.env.REDIS_URL = redis.url;
  logger.log(`Redis: ${redis.url}${redis.started ? ' (started for this run)' : ''}`);

  const { prefix, generated } = choosePrefix();
  const app = await NestFactory.create(AppModule, { logger: options.logger ?? ['log', 'warn', 'error'] });
  app.enableShutdownHooks();
  // The consumer side: the taskq transport, built by TaskqModule from the same configuration as the client.
  const server = app.get(TaskqServer);
  const progress = app.get(DemoProgress);
  server.on('archived', (task, err) => {
    if (task.type === 'user:import') {
      logger.log(`🗄  user:import ${task.id} archived at once, never retried: ${err.message}`);
      progress.mark('import-invalid-archived');
    }
  });
  app.connectMicroservice({ strategy: server });
  await app.startAllMicroservices();
  await app.listen(options.port ?? Number(process.env.PORT ?? 0), '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  logger.log(
    `Keys under the prefix "${prefix}"${generated ? ' (this run only, deleted on exit; TASKQ_PREFIX sets one)' : ''}`,
  );
  logger.log(
    `HTTP on ${url}  (try: curl -XPOST ${url}/signup -H 'content-type: application/json' -d '{"name":"Ada","email":"ada@example.com"}')`,
  );

  const close = async (): Promise<void> => {
    await app.close();
    if (generated) await deletePrefix(redis.url, prefix);
    await redis.stop();
  };
  const running: RunningSample = { app, url, redis, close };
  if (options.demo) running.demo = runDemo(url, progress, logger);
  return running;
}

async function call(url: string, method: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json: unknown = await res.json();
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Exercises every feature through the HTTP API and waits until each one was seen working. */
async function runDemo(url: string, progress: DemoProgress, logger: Logger): Promise<void> {
  const started = Date.now();
  logger.log('Demo: signing Ada up (welcome email now, reminder in 2s)');
  const signup = (await call(`${url}/signup`, 'POST', { name: 'Ada', email: 'ada@example.com' })) as {
    userId: string;
  };
  logger.log(`POST /signup → ${JSON.stringify(signup)}`);

  logger.log('Demo: importing a valid and an invalid user (ValidationPipe on the task handler)');
  await call(`${url}/import`, 'POST', { email: 'grace@example.com', age: 36 });
  await call(`${url}/import`, 'POST', { email: 'not-an-email', age: -1 });

  logger.log('Demo: charging an order through a flaky gateway (fails twice, then succeeds)');
  await call(`${url}/orders/A-1/charge`, 'POST');

  logger.log('Demo: POST /images/cat.png starts a workflow: three sizes in parallel, then one chord callback');
  logger.log(`POST /images/cat.png → ${JSON.stringify(await call(`${url}/images/cat.png`, 'POST'))}`);

  logger.log('Demo: GET /reports/:userId waits on send() for the task result');
  const report = await call(`${url}/reports/${signup.userId}`, 'GET');
  logger.log(`GET /reports/${signup.userId} → ${JSON.stringify(report)}`);
  progress.mark('report-returned');

  await progress.all(DEMO_TIMEOUT_MS);
  logger.log(`Demo finished in ${Date.now() - started} ms: every feature worked`);
}

/** Deletes every key of a run's own prefix (SCAN + UNLINK), so runs leave nothing behind. */
async function deletePrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
