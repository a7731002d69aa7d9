/**
 * Finding and starting Redis for the tests, the sample app and the benchmarks: one implementation of "REDIS_URL,
 * else 127.0.0.1:6379, else a private redis-server on a free port".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The server's version when `url` answers PING (and has loaded its data set), else undefined. */
export async function redisVersion(url: string, connectTimeout = 1000): Promise<string | undefined> {
  const probe = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    // While an AOF loads, commands answer LOADING: INFO only passes once the data set is there.
    const info = await probe.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch {
    return undefined;
  } finally {
    probe.disconnect();
  }
}

/** Waits until `url` answers; returns the server version. */
export async function waitUntilAnswering(url: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const version = await redisVersion(url);
    if (version) return version;
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Options of {@link spawnRedisServer}. */
export interface SpawnRedisOptions {
  /** The port. @defaultValue a free one */
  port?: number;
  /** The data directory (kept by `kill()`, removed by `stop()`). @defaultValue a new temp directory */
  dir?: string;
  /** Turn AOF persistence on (fsync always), so a killed server restarts with its data. @defaultValue false */
  appendonly?: boolean;
  /** Pin the server to this CPU with taskset. @defaultValue not pinned */
  cpu?: number;
}

/** A redis-server process on 127.0.0.1. */
export interface RedisServerProcess {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly version: string;
  /** Kills the process (SIGKILL) and keeps its data directory: `start()` brings it back. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data directory. */
  start(): Promise<void>;
  /** Kills the server and removes its data directory. */
  stop(): Promise<void>;
}

/** Starts a redis-server (persistence off unless `appendonly`) and waits until it answers. */
export async function spawnRedisServer(options: SpawnRedisOptions = {}): Promise<RedisServerProcess> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'taskq-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let version = 'unknown';

  const launch = async (): Promise<void> => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      options.appendonly ? 'yes' : 'no',
      '--appendfsync',
      'always',
    ];
    const proc =
      options.cpu === undefined
        ? spawn('redis-server', args, { stdio: 'ignore' })
        : spawn('taskset', ['-c', String(options.cpu), 'redis-server', ...args], { stdio: 'ignore' });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      proc.once('error', (err) =>
        reject(
          new Error(`could not start redis-server (${err.message}); install it, e.g. apt-get install redis-server`),
        ),
      );
      proc.once('spawn', () => resolve());
    });
    version = await waitUntilAnswering(url, 10_000);
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  };

  try {
    await launch();
  } catch (err) {
    await kill();
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url,
    dir,
    get version() {
      return version;
    },
    kill,
    start: launch,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis found or started; `stop()` stops it only when it was started here. */
export interface FoundRedis {
  url: string;
  /** True when no Redis answered and a private redis-server was started. */
  started: boolean;
  stop(): Promise<void>;
}

/**
 * REDIS_URL, else 127.0.0.1:6379, else a private redis-server on a free port. Fails with a message saying how to get
 * one when none can be had.
 */
export async function findOrStartRedis(): Promise<FoundRedis> {
  const candidates = [process.env.REDIS_URL, 'redis://127.0.0.1:6379'].filter((u): u is string => Boolean(u));
  for (const url of candidates) {
    if (await redisVersion(url)) return { url, started: false, stop: async () => undefined };
  }
  try {
    const server = await spawnRedisServer();
    return { url: server.url, started: true, stop: () => server.stop() };
  } catch (err) {
    throw new Error(
      `No Redis: nothing answered at ${candidates.join(' or ')}, and starting redis-server failed ` +
        `(${(err as Error).message}). Set REDIS_URL, or install Redis 6.2+ (apt-get install redis-server).`,
      { cause: err },
    );
  }
}
