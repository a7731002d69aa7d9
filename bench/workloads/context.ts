/** What a workload receives: the library under test, a measuring connection, and the run's parameters. */
import type { Adapter } from '../adapters/types.js';
import type { ServerProbe } from '../redis.js';

export interface WorkloadContext {
  adapter: Adapter;
  probe: ServerProbe;
  /** A fresh queue name for this measurement (`tag` tells warm-up and measured queues apart). */
  queue(tag: string): string;
  /** When profiling: started right before, and stopped right after, the timed part of a measurement. */
  profiler?: { start(): Promise<void>; stop(): Promise<void> };
}

/** Resolves when `count()` reaches `target`, or rejects after `timeoutMs` saying how far it got. */
export function waitForCount(count: () => number, target: number, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      const n = count();
      if (n >= target) return resolve();
      if (Date.now() - started > timeoutMs)
        return reject(new Error(`${what}: only ${n} of ${target} after ${timeoutMs} ms`));
      setTimeout(check, 1);
    };
    check();
  });
}

/** A counter with a promise that resolves when it reaches a target (no polling on the hot path). */
export class Countdown {
  count = 0;
  private target = Number.POSITIVE_INFINITY;
  private resolve?: () => void;

  tick = (): void => {
    this.count += 1;
    if (this.count >= this.target && this.resolve) {
      const r = this.resolve;
      this.resolve = undefined;
      r();
    }
  };

  /** Resolves once the count reaches `target`; rejects after `timeoutMs`. */
  until(target: number, timeoutMs: number, what: string): Promise<void> {
    if (this.count >= target) return Promise.resolve();
    this.target = target;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.resolve = undefined;
        reject(new Error(`${what}: only ${this.count} of ${target} after ${timeoutMs} ms`));
      }, timeoutMs);
      this.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Node CPU (user + system) in µs since `start`. */
export function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return d.user + d.system;
}
