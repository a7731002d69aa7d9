import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** An event printed by test/helpers/scheduler-child.mjs. */
export interface ChildEvent {
  event: 'ready' | 'fire' | 'error' | 'warn' | 'stopped';
  id?: string;
  fireTime?: number;
  taskId?: string;
  lateness?: number;
  message?: string;
}

/** A TaskScheduler running in a child process. */
export interface SchedulerProcess {
  readonly child: ChildProcess;
  readonly events: ChildEvent[];
  /** Resolves once the scheduler started (entries loaded, subscribed). */
  readonly ready: Promise<void>;
  /** SIGTERM and wait for a graceful exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./scheduler-child.mjs', import.meta.url));

/** Starts a scheduler in a child process on `prefix` (needs TASKQ_CORE_DIST, set by the test setup). */
export function spawnScheduler(prefix: string, redisUrl: string): SchedulerProcess {
  const child = spawn(process.execPath, [CHILD], {
    env: { ...process.env, REDIS_URL: redisUrl, TASKQ_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const events: ChildEvent[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`scheduler child exited before ready (${code ?? signal})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: ChildEvent;
      try {
        event = JSON.parse(line) as ChildEvent;
      } catch {
        return;
      }
      events.push(event);
      if (event.event === 'ready') resolve();
    });
  });
  ready.catch(() => undefined);
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return { child, events, ready, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}
