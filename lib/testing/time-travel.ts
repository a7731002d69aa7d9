import type { SimulatedClock } from '../core/clock.js';

/** A guard against timers that re-arm without end at one instant. */
const MAX_STEPS = 10_000_000;

/**
 * Moves a SimulatedClock forward by `ms`, one timer at a time: the clock is set to each timer's time in order (firing
 * it and any other due then), and the engine's async work settles before the next, so what a timer starts (a forward,
 * a tick, a heartbeat) completes before later timers fire. Ends at exactly `now + ms`, settled.
 */
export async function advanceClock(clock: SimulatedClock, ms: number, settle: () => Promise<void>): Promise<void> {
  const target = clock.now() + ms;
  await settle();
  for (let steps = 0; ; steps++) {
    const next = clock.nextTimerAt();
    if (next === undefined || next > target) break;
    if (steps >= MAX_STEPS) throw new Error(`advance: more than ${MAX_STEPS} timers fired before the target time`);
    clock.set(Math.max(next, clock.now()));
    await settle();
  }
  clock.set(target);
  await settle();
}
