import type { Clock } from './clock.js';

/**
 * Every timer the library sets on its clock's time goes through here: the attempt timeout, result waits, the
 * forwarder's due times, heartbeats, recovery and cleaning rounds, periodic ticks. Two reasons:
 * - Node's setTimeout fires at once for delays past 2^31 - 1 ms (about 24.8 days) with a TimeoutOverflowWarning;
 *   a 30-day timeout must not. Long delays are chained here, re-armed against the absolute due time.
 * - A clock that schedules its own timers (SimulatedClock) fires them as it is moved, so a test moves time instead of
 *   waiting.
 */

/** A timer from {@link startTimer} or {@link startInterval}. */
export interface Timer {
  /** Stops it (a no-op once fired). */
  clear(): void;
}

/** The longest delay Node's setTimeout takes. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Options of a timer. */
export interface TimerOptions {
  /** A real timer that does not keep the process alive. @defaultValue false */
  unref?: boolean;
}

/** Runs `fn` once `ms` of `clock`'s time passed. */
export function startTimer(clock: Clock, ms: number, fn: () => void, options: TimerOptions = {}): Timer {
  if (clock.schedule) {
    const scheduled = clock.schedule(fn, ms);
    return { clear: () => scheduled.cancel() };
  }
  const dueAt = Date.now() + ms;
  let handle: NodeJS.Timeout;
  const arm = (delay: number): void => {
    handle = setTimeout(
      () => {
        const left = dueAt - Date.now();
        if (left > 0) arm(left);
        else fn();
      },
      Math.min(Math.max(0, delay), MAX_TIMEOUT_MS),
    );
    if (options.unref) handle.unref();
  };
  arm(ms);
  return { clear: () => clearTimeout(handle) };
}

/** Runs `fn` every `ms` of `clock`'s time until cleared. */
export function startInterval(clock: Clock, ms: number, fn: () => void, options: TimerOptions = {}): Timer {
  let current: Timer | undefined;
  let cleared = false;
  const tick = (): void => {
    if (cleared) return;
    current = startTimer(clock, ms, tick, options);
    fn();
  };
  current = startTimer(clock, ms, tick, options);
  return {
    clear: () => {
      cleared = true;
      current?.clear();
    },
  };
}
