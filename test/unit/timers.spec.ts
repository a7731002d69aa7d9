import { afterEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock, systemClock } from '../../lib/core/clock.js';
import { bounded } from '../../lib/core/bounded.js';
import { MAX_TIMEOUT_MS, startInterval, startTimer } from '../../lib/core/timers.js';

const DAY = 86_400_000;

describe('timers', () => {
  afterEach(() => vi.useRealTimers());

  it('a real timer past setTimeout’s range (24.8 days) fires at its time, not at once', () => {
    vi.useFakeTimers();
    const warn = vi.spyOn(process, 'emitWarning');
    let fired = 0;
    startTimer(systemClock, 30 * DAY, () => fired++);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(MAX_TIMEOUT_MS);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(30 * DAY - MAX_TIMEOUT_MS - 2);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    expect(warn).not.toHaveBeenCalledWith(expect.stringMatching(/TimeoutOverflow/), expect.anything());
    warn.mockRestore();
  });

  it('a cleared long timer never fires', () => {
    vi.useFakeTimers();
    let fired = 0;
    const t = startTimer(systemClock, 40 * DAY, () => fired++);
    vi.advanceTimersByTime(30 * DAY);
    t.clear();
    vi.advanceTimersByTime(20 * DAY);
    expect(fired).toBe(0);
  });

  it('a SimulatedClock fires timers as it moves, in time order, with the clock at each timer’s time', () => {
    const clock = new SimulatedClock(1_000);
    const seen: [string, number][] = [];
    startTimer(clock, 300, () => seen.push(['b', clock.now()]));
    startTimer(clock, 100, () => {
      seen.push(['a', clock.now()]);
      // A timer set by a timer fires in the same move when it is due within it.
      startTimer(clock, 50, () => seen.push(['a2', clock.now()]));
    });
    const canceled = startTimer(clock, 200, () => seen.push(['never', clock.now()]));
    canceled.clear();
    expect(clock.nextTimerAt()).toBe(1_100);
    clock.advance(250);
    expect(seen).toEqual([
      ['a', 1_100],
      ['a2', 1_150],
    ]);
    expect(clock.now()).toBe(1_250);
    clock.advance(1_000);
    expect(seen.at(-1)).toEqual(['b', 1_300]);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it('an interval on a SimulatedClock fires once per period moved', () => {
    const clock = new SimulatedClock(0);
    let n = 0;
    const i = startInterval(clock, 100, () => n++);
    clock.advance(1_000);
    expect(n).toBe(10);
    i.clear();
    clock.advance(1_000);
    expect(n).toBe(10);
  });

  it('bounded() with a 30-day bound (a shutdownTimeout) waits, it does not return at once', async () => {
    vi.useFakeTimers();
    let done = false;
    void bounded(new Promise(() => undefined), 30 * DAY).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(MAX_TIMEOUT_MS + 1);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(30 * DAY);
    expect(done).toBe(true);
  });
});
