import type { PeriodicOps } from '../broker/broker.js';
import type { Clock, ScheduledTimer } from '../clock.js';

/**
 * The scheduler's time: an injected clock, or the local clock corrected by its measured offset to the Redis server's
 * clock, so replicas on hosts with skewed clocks agree on when a tick is due.
 */
export class ServerClock implements Clock {
  private offsetMs = 0;

  constructor(
    private readonly broker: Pick<PeriodicOps, 'serverTime'>,
    private readonly injected?: Clock,
  ) {}

  now(): number {
    return this.injected ? this.injected.now() : Date.now() + this.offsetMs;
  }

  /** Timers follow an injected clock that schedules its own (a SimulatedClock); real ones otherwise. */
  get schedule(): ((fn: () => void, ms: number) => ScheduledTimer) | undefined {
    const injected = this.injected;
    if (!injected?.schedule) return undefined;
    return (fn, ms) => injected.schedule!(fn, ms);
  }

  /** Measures the offset to the server's clock again (the sample with the shortest round trip wins). */
  async align(): Promise<void> {
    if (this.injected) return;
    let best: { rtt: number; offset: number } | undefined;
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const server = await this.broker.serverTime();
      const t1 = Date.now();
      const sample = { rtt: t1 - t0, offset: server - (t0 + t1) / 2 };
      if (!best || sample.rtt < best.rtt) best = sample;
    }
    // Sub-millisecond offsets are noise from rounding; ignoring them keeps local and Redis ms identical on one host.
    if (best) this.offsetMs = Math.abs(best.offset) < 2 ? 0 : Math.round(best.offset);
  }
}
