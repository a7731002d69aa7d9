import type { MemoryStore } from '../core/broker/memory/store.js';
import type { SimulatedClock } from '../core/clock.js';

/** Event-loop turns in a row without a store operation that count as settled. */
const QUIET_TURNS = 3;
/** A guard against work that never stops (it would make a test hang instead of fail). */
const MAX_TURNS = 1_000_000;

/**
 * Waits until the engine's work on an in-memory store has settled: the store's operations resolve on microtasks, the
 * engine's batching on macrotasks, so it lets the event loop turn until a few turns pass without any operation.
 * Timers of `clock` that are due at its current time fire on the way (the clock is not moved).
 * @throws Error when the work never settles
 */
export async function settleStore(store: MemoryStore, clock?: SimulatedClock): Promise<void> {
  let seen = -1;
  let quiet = 0;
  for (let turn = 0; quiet < QUIET_TURNS; turn++) {
    if (turn >= MAX_TURNS) throw new Error(`${store.url}: the engine's work never settled (${MAX_TURNS} turns)`);
    clock?.set(clock.now());
    await new Promise<void>((resolve) => setImmediate(resolve));
    const activity = store.activity;
    if (activity === seen) quiet++;
    else {
      quiet = 0;
      seen = activity;
    }
  }
}
