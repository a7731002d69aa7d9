import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../lib/core/clock.js';
import { startInterval, startTimer } from '../../lib/core/timers.js';
import { advanceClock } from '../../lib/testing/time-travel.js';

describe('advanceClock', () => {
  it('fires timers one instant at a time, in order, settling after each, and ends at the target', async () => {
    const clock = new SimulatedClock(1_000);
    const log: string[] = [];
    startTimer(clock, 300, () => log.push(`b@${clock.now()}`));
    startTimer(clock, 100, () => {
      log.push(`a@${clock.now()}`);
      // Set by a timer: fires later in the same advance, at its own time.
      startTimer(clock, 50, () => log.push(`a2@${clock.now()}`));
    });
    startInterval(clock, 200, () => log.push(`i@${clock.now()}`));
    startTimer(clock, 5_000, () => log.push('late'));
    await advanceClock(clock, 450, async () => void log.push(`settle@${clock.now()}`));
    expect(log).toEqual([
      'settle@1000',
      'a@1100',
      'settle@1100',
      'a2@1150',
      'settle@1150',
      'i@1200',
      'settle@1200',
      'b@1300',
      'settle@1300',
      'i@1400',
      'settle@1400',
      'settle@1450',
    ]);
    expect(clock.now()).toBe(1_450);
  });
});
