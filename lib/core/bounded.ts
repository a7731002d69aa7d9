import { systemClock } from './clock.js';
import { startTimer, type Timer } from './timers.js';

/** Waits for `promise` (its rejection ignored), but no longer than `ms` of real time (any length: timers.ts). */
export async function bounded(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!promise) return;
  let timer: Timer | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => (timer = startTimer(systemClock, ms, resolve))),
  ]);
  timer?.clear();
}
