import { describe, expect, it } from 'vitest';
import { InvalidCronspecError, parseCronspec, parseEveryDuration } from '../../lib/core/periodic/cron.js';
import { InvalidOptionError } from '../../lib/core/errors.js';

const at = (iso: string): number => new Date(iso).getTime();
const iso = (ms: number): string => new Date(ms).toISOString();

/** The first `n` fire times strictly after `from`. */
function walk(spec: string, tz: string, from: string, n: number): string[] {
  const schedule = parseCronspec(spec, tz);
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    t = schedule.next(t);
    out.push(iso(t));
  }
  return out;
}

describe('parseCronspec', () => {
  it('reads 5-field cron (minute first), strictly after the given time', () => {
    expect(walk('*/15 * * * *', 'UTC', '2025-01-01T00:00:00.000Z', 3)).toEqual([
      '2025-01-01T00:15:00.000Z',
      '2025-01-01T00:30:00.000Z',
      '2025-01-01T00:45:00.000Z',
    ]);
  });

  it('reads 6-field cron with leading seconds', () => {
    expect(walk('*/20 * * * * *', 'UTC', '2025-01-01T00:00:00.500Z', 3)).toEqual([
      '2025-01-01T00:00:20.000Z',
      '2025-01-01T00:00:40.000Z',
      '2025-01-01T00:01:00.000Z',
    ]);
  });

  it("accepts '?', month and day names", () => {
    expect(walk('0 9 ? JAN MON', 'UTC', '2025-01-01T00:00:00Z', 2)).toEqual([
      '2025-01-06T09:00:00.000Z',
      '2025-01-13T09:00:00.000Z',
    ]);
    expect(walk('0 0 1 feb-mar *', 'UTC', '2025-01-01T00:00:00Z', 2)).toEqual([
      '2025-02-01T00:00:00.000Z',
      '2025-03-01T00:00:00.000Z',
    ]);
  });

  it('accepts the descriptors', () => {
    const from = '2025-06-15T10:20:30Z';
    expect(walk('@yearly', 'UTC', from, 1)).toEqual(['2026-01-01T00:00:00.000Z']);
    expect(walk('@annually', 'UTC', from, 1)).toEqual(['2026-01-01T00:00:00.000Z']);
    expect(walk('@monthly', 'UTC', from, 1)).toEqual(['2025-07-01T00:00:00.000Z']);
    expect(walk('@weekly', 'UTC', from, 1)).toEqual(['2025-06-22T00:00:00.000Z']); // a Sunday
    expect(walk('@daily', 'UTC', from, 1)).toEqual(['2025-06-16T00:00:00.000Z']);
    expect(walk('@midnight', 'UTC', from, 1)).toEqual(['2025-06-16T00:00:00.000Z']);
    expect(walk('@hourly', 'UTC', from, 1)).toEqual(['2025-06-15T11:00:00.000Z']);
    expect(walk('@DAILY', 'UTC', from, 1)).toEqual(['2025-06-16T00:00:00.000Z']);
  });

  it('@every is aligned to multiples of the interval since the epoch', () => {
    expect(walk('@every 30s', 'UTC', '2025-01-01T00:00:10.123Z', 2)).toEqual([
      '2025-01-01T00:00:30.000Z',
      '2025-01-01T00:01:00.000Z',
    ]);
    expect(walk('@every 1h30m', 'UTC', '2025-01-01T00:00:00Z', 2)).toEqual([
      '2025-01-01T01:30:00.000Z',
      '2025-01-01T03:00:00.000Z',
    ]);
    // The zone does not matter for @every: every replica computes the same ticks.
    expect(walk('@every 1s', 'Asia/Kolkata', '2025-01-01T00:00:00.999Z', 1)).toEqual(['2025-01-01T00:00:01.000Z']);
    const s = parseCronspec('@every 10s');
    expect(iso(s.prev(at('2025-01-01T00:00:19.999Z')))).toBe('2025-01-01T00:00:10.000Z');
    expect(iso(s.prev(at('2025-01-01T00:00:20.000Z')))).toBe('2025-01-01T00:00:20.000Z');
  });

  it('prev() of a cron spec is at or before the time', () => {
    const s = parseCronspec('* * * * *');
    expect(iso(s.prev(at('2025-01-01T00:01:00.000Z')))).toBe('2025-01-01T00:01:00.000Z');
    expect(iso(s.prev(at('2025-01-01T00:01:59.999Z')))).toBe('2025-01-01T00:01:00.000Z');
  });

  describe('time zones and DST (cron-parser rules)', () => {
    it('America/New_York: 02:30 on spring-forward day runs at 03:30 EDT; on fall-back day once at 02:30 EST', () => {
      expect(walk('30 2 * * *', 'America/New_York', '2025-03-07T12:00:00Z', 4)).toEqual([
        '2025-03-08T07:30:00.000Z', // 02:30 EST
        '2025-03-09T07:30:00.000Z', // 02:30 does not exist: 03:30 EDT
        '2025-03-10T06:30:00.000Z', // 02:30 EDT
        '2025-03-11T06:30:00.000Z',
      ]);
      expect(walk('30 2 * * *', 'America/New_York', '2025-10-31T12:00:00Z', 3)).toEqual([
        '2025-11-01T06:30:00.000Z', // 02:30 EDT
        '2025-11-02T07:30:00.000Z', // 02:30 EST, once
        '2025-11-03T07:30:00.000Z',
      ]);
    });

    it('an ambiguous local time (01:30 on fall-back day) fires once, at its first occurrence', () => {
      expect(walk('30 1 * * *', 'America/New_York', '2025-11-01T12:00:00Z', 2)).toEqual([
        '2025-11-02T05:30:00.000Z', // 01:30 EDT; not again at 01:30 EST
        '2025-11-03T06:30:00.000Z',
      ]);
    });

    it('Europe/Berlin: 02:30 on 2025-03-30 runs at 03:30 CEST; on 2025-10-26 once at 02:30 CEST', () => {
      expect(walk('30 2 * * *', 'Europe/Berlin', '2025-03-29T12:00:00Z', 2)).toEqual([
        '2025-03-30T01:30:00.000Z',
        '2025-03-31T00:30:00.000Z',
      ]);
      expect(walk('30 2 * * *', 'Europe/Berlin', '2025-10-25T12:00:00Z', 2)).toEqual([
        '2025-10-26T00:30:00.000Z',
        '2025-10-27T01:30:00.000Z',
      ]);
    });
  });

  describe('bad input', () => {
    const bad: [string, RegExp][] = [
      ['', /empty/],
      ['* * *', /3 fields/],
      ['* * * * * * *', /7 fields/],
      ['61 * * * *', /61/],
      ['0 0 * * 8', /0-7/],
      ['bogus spec here x y', /invalid cronspec "bogus spec here x y"/],
      ['0 0 30 2 *', /day of month/],
      ['@fortnightly', /unknown descriptor/],
      ['@every', /cannot parse/],
      ['@every soon', /cannot parse the duration "soon"/],
      ['@every 500ms', /at least 1s/],
      ['@every 0s', /at least 1s/],
      ['@every 1s junk', /cannot parse/],
    ];
    for (const [spec, message] of bad) {
      it(`rejects ${JSON.stringify(spec)}`, () => {
        let thrown: unknown;
        try {
          parseCronspec(spec);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(InvalidCronspecError);
        expect((thrown as InvalidCronspecError).code).toBe('INVALID_CRONSPEC');
        expect((thrown as InvalidCronspecError).cronspec).toBe(spec);
        expect((thrown as Error).message).toMatch(message);
      });
    }

    it('rejects an unknown time zone with InvalidOptionError on tz', () => {
      expect(() => parseCronspec('* * * * *', 'Mars/Olympus')).toThrow(InvalidOptionError);
      expect(() => parseCronspec('* * * * *', 'Mars/Olympus')).toThrow(/Mars\/Olympus/);
    });
  });
});

describe('parseEveryDuration', () => {
  it('reads compound durations', () => {
    expect(parseEveryDuration('1h30m')).toBe(5_400_000);
    expect(parseEveryDuration(' 1.5s ')).toBe(1500);
    expect(parseEveryDuration('2d')).toBe(172_800_000);
    expect(parseEveryDuration('1m500ms')).toBe(60_500);
    expect(parseEveryDuration('1 h')).toBeUndefined();
    expect(parseEveryDuration('')).toBeUndefined();
    expect(parseEveryDuration('10')).toBeUndefined();
  });
});
