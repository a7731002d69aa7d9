/** The source of time for the engine; tests inject a simulated one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to; for tests of time-dependent logic without real waiting. */
export class SimulatedClock implements Clock {
  constructor(private current: number = Date.now()) {}

  now(): number {
    return this.current;
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.current += ms;
  }

  /** Sets the clock to `at` (ms since epoch or a Date). */
  set(at: number | Date): void {
    this.current = typeof at === 'number' ? at : at.getTime();
  }
}

/** UTC day (`YYYY-MM-DD`) of a timestamp, the unit of the daily counters. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
