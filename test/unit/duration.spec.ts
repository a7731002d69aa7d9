import { describe, expect, it } from 'vitest';
import { parseDuration, parseDurationText } from '../../lib/core/duration.js';
import { InvalidOptionError } from '../../lib/core/errors.js';
import { resolveEnqueueOptions } from '../../lib/core/enqueue-options.js';
import { parseEveryDuration } from '../../lib/core/periodic/cron.js';

describe('one duration grammar for options and @every', () => {
  it('reads single and compound parts', () => {
    expect(parseDuration('500ms', 'x')).toBe(500);
    expect(parseDuration('1h30m', 'x')).toBe(5_400_000);
    expect(parseDuration(' 1.5s ', 'x')).toBe(1500);
    expect(parseDuration('1m500ms', 'x')).toBe(60_500);
    expect(parseDuration(250, 'x')).toBe(250);
  });

  it('is the grammar of @every', () => {
    for (const text of ['30s', '1h30m', '2d', '1.5h', '1 h', '10', ''])
      expect(parseEveryDuration(text)).toBe(parseDurationText(text));
  });

  it('accepts processIn: "1h30m" like @every 1h30m', () => {
    const now = Date.UTC(2030, 0, 1);
    expect(resolveEnqueueOptions({ processIn: '1h30m' }, now).processAtMs).toBe(now + 5_400_000);
  });

  it('rejects what is not a duration, naming the field', () => {
    for (const bad of ['1 h', '10', 'soon', '-5s', '5parsecs', -1, Number.NaN]) {
      expect(() => parseDuration(bad, 'timeout')).toThrow(InvalidOptionError);
    }
    expect(() => parseDuration('soon', 'timeout')).toThrow(/invalid timeout: got "soon"; expected .*'1h30m'/);
  });
});
