/** The source of time for the engine; tests inject a simulated one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Optional: runs `fn` once `ms` of this clock's time passed. A clock without it gets real timers (see timers.ts);
   * {@link SimulatedClock} fires them as it is moved.
   */
  schedule?(fn: () => void, ms: number): ScheduledTimer;
}

/** A timer set through {@link Clock.schedule}. */
export interface ScheduledTimer {
  /** Cancels it (a no-op once fired). */
  cancel(): void;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
  canceled: boolean;
}

/**
 * A clock that moves only when told to; for tests of time-dependent logic without real waiting. The library's
 * timers (delays, retries, timeouts, heartbeats, periodic ticks) set on it fire when it is moved past their time, in
 * time order, each with the clock set to its own time.
 */
export class SimulatedClock implements Clock {
  private readonly timers: PendingTimer[] = [];
  private seq = 0;

  constructor(private current: number = Date.now()) {}

  now(): number {
    return this.current;
  }

  schedule(fn: () => void, ms: number): ScheduledTimer {
    const timer: PendingTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, canceled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.canceled = true) };
  }

  /** When the next timer fires (undefined: none is set). */
  nextTimerAt(): number | undefined {
    let next: number | undefined;
    for (const t of this.timers) if (!t.canceled && (next === undefined || t.at < next)) next = t.at;
    return next;
  }

  /** Moves the clock forward by `ms`, firing the timers due on the way. */
  advance(ms: number): void {
    this.set(this.current + ms);
  }

  /** Sets the clock to `at` (ms since epoch or a Date), firing the timers due on the way (none when moving back). */
  set(at: number | Date): void {
    const target = typeof at === 'number' ? at : at.getTime();
    for (;;) {
      const due = this.popDue(target);
      if (!due) break;
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = target;
  }

  private popDue(target: number): PendingTimer | undefined {
    let best = -1;
    for (let i = 0; i < this.timers.length; i++) {
      const t = this.timers[i];
      if (t.canceled) {
        this.timers.splice(i--, 1);
        continue;
      }
      if (
        t.at <= target &&
        (best < 0 || t.at < this.timers[best].at || (t.at === this.timers[best].at && t.seq < this.timers[best].seq))
      ) {
        best = i;
      }
    }
    return best < 0 ? undefined : this.timers.splice(best, 1)[0];
  }
}

/** UTC day (`YYYY-MM-DD`) of a timestamp, the unit of the daily counters. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
