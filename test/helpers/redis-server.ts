import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A redis-server process started by a test on a free loopback port. */
export interface PrivateRedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Kills the process (SIGKILL) without removing its data directory: `start()` brings it back. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data directory. */
  start(): Promise<void>;
  /** Kills the server and removes its data directory. */
  stop(): Promise<void>;
}

/** Finds a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
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

async function waitUntilAnswering(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      // AOF loading answers LOADING errors until ready; PING only passes once the data set is loaded.
      await probe.ping();
      probe.disconnect();
      return;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Starts a private `redis-server` (persistence off unless `appendonly`), waits until it answers, and returns handles
 * to kill, restart and stop it. Fails with a clear message when redis-server is not installed.
 */
export async function startPrivateRedis(options: { appendonly?: boolean; port?: number } = {}): Promise<PrivateRedisServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'taskq-redis-'));
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', options.appendonly ? 'yes' : 'no', '--appendfsync', 'always',
    ];
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      proc.once('error', (err) =>
        reject(new Error(`could not start redis-server (${err.message}); install it, e.g. apt-get install redis-server`)),
      );
      proc.once('spawn', () => resolve());
    });
    await waitUntilAnswering(port, 10_000);
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  };

  await launch();
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start: launch,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
