import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { MAX_DURATION_MS, parseDurationText } from '../duration.js';
import { InvalidCronspecError, InvalidOptionError } from '../errors.js';

export { InvalidCronspecError } from '../errors.js';

/** The shortest `@every` interval: ticks below a second would not be worth a Redis round trip each. */
export const MIN_EVERY_MS = 1000;

/** Time zone used when a periodic entry names none. */
export const DEFAULT_TZ = 'UTC';

/** Descriptors accepted besides 5- and 6-field expressions and `@every <duration>`. */
const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const ALLOWED_SPECS =
  "5 fields (minute hour day-of-month month day-of-week), 6 fields with leading seconds, '?', month and day names, " +
  `${Object.keys(DESCRIPTORS).join(' ')}, or '@every <duration>' such as '@every 30s' or '@every 1h30m'`;

/** The error for a rejected spec: the reason, then what is allowed. */
function cronspecError(cronspec: string, reason: string): InvalidCronspecError {
  return new InvalidCronspecError(cronspec, `${reason}; expected ${ALLOWED_SPECS}`);
}

/**
 * When an entry fires. Times are ms since the epoch; {@link next} is strictly after `after`, so feeding it its own
 * result walks the fire times in order.
 */
export interface Schedule {
  /** The first fire time strictly after `after`. */
  next(after: number): number;
  /** The last fire time at or before `atOrBefore`. */
  prev(atOrBefore: number): number;
}

/**
 * Parses the duration of `@every`: the Duration grammar (`30s`, `1h30m`, `1.5h`). Returns whole ms, or
 * undefined when unparsable.
 */
export const parseEveryDuration = parseDurationText;

/**
 * `@every d`: fire times are the multiples of d since the Unix epoch, so every replica computes the same ticks
 * without sharing an anchor (`@every 1h` fires on the hour, `@every 30s` at :00 and :30).
 */
class EverySchedule implements Schedule {
  constructor(readonly intervalMs: number) {}

  next(after: number): number {
    return (Math.floor(after / this.intervalMs) + 1) * this.intervalMs;
  }

  prev(atOrBefore: number): number {
    return Math.floor(atOrBefore / this.intervalMs) * this.intervalMs;
  }
}

/** A cron expression evaluated by cron-parser in a time zone (its DST rules apply). */
class CronSchedule implements Schedule {
  constructor(private readonly expression: CronExpression) {}

  next(after: number): number {
    this.expression.reset(new Date(after));
    return this.expression.next().getTime();
  }

  prev(atOrBefore: number): number {
    // cron-parser's prev() is strictly before its current date; +1 ms makes `atOrBefore` itself eligible.
    this.expression.reset(new Date(atOrBefore + 1));
    return this.expression.prev().getTime();
  }
}

/** Zones already checked: constructing an Intl.DateTimeFormat costs ~0.2 ms, and entries are re-read in bulk. */
const knownZones = new Set<string>([DEFAULT_TZ]);

/**
 * Validates an IANA time zone name.
 * @throws InvalidOptionError naming `tz`.
 */
export function validateTimeZone(tz: unknown): string {
  if (typeof tz !== 'string' || tz.length === 0) {
    throw new InvalidOptionError(
      'tz',
      `got ${JSON.stringify(tz)}; expected an IANA time zone name such as 'Europe/Berlin' or 'UTC'`,
    );
  }
  if (knownZones.has(tz)) return tz;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    knownZones.add(tz);
  } catch {
    throw new InvalidOptionError(
      'tz',
      `unknown time zone ${JSON.stringify(tz)}; expected an IANA name such as 'Europe/Berlin' or 'UTC'`,
    );
  }
  return tz;
}

/**
 * Parses and validates a cronspec in a time zone. Accepts 5-field cron, 6-field cron with leading seconds, `?`,
 * month and day names, `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@midnight` `@hourly`, and
 * `@every <duration>` (at least 1s; aligned to multiples of the interval since the epoch, whatever the zone).
 * @throws InvalidCronspecError quoting the spec and the reason; InvalidOptionError for an unknown `tz`.
 */
export function parseCronspec(cronspec: unknown, tz: string = DEFAULT_TZ): Schedule {
  if (typeof cronspec !== 'string') throw cronspecError(String(cronspec), `got ${typeof cronspec}, not a string`);
  validateTimeZone(tz);
  const spec = cronspec.trim();
  if (spec.length === 0) throw cronspecError(cronspec, 'it is empty');
  if (/^@every(\s|$)/i.test(spec)) {
    const text = spec.slice('@every'.length);
    const ms = parseEveryDuration(text);
    if (ms === undefined) throw cronspecError(cronspec, `cannot parse the duration ${JSON.stringify(text.trim())}`);
    if (ms < MIN_EVERY_MS) throw cronspecError(cronspec, `the interval is ${ms} ms; @every needs at least 1s`);
    if (ms > MAX_DURATION_MS) throw cronspecError(cronspec, `the interval is ${ms} ms; @every takes at most 3650d`);
    return new EverySchedule(ms);
  }
  let expression = spec;
  if (spec.startsWith('@')) {
    const mapped = DESCRIPTORS[spec.toLowerCase()];
    if (mapped === undefined) throw cronspecError(cronspec, `unknown descriptor ${JSON.stringify(spec)}`);
    expression = mapped;
  } else {
    const fields = spec.split(/\s+/).length;
    if (fields !== 5 && fields !== 6) throw cronspecError(cronspec, `it has ${fields} fields`);
  }
  let parsed: CronExpression;
  try {
    parsed = CronExpressionParser.parse(expression, { tz, currentDate: new Date() });
    // Some impossible specs (e.g. '0 0 31 2 *' in a loop) only fail when a date is searched.
    parsed.next();
  } catch (err) {
    throw cronspecError(cronspec, (err as Error).message);
  }
  return new CronSchedule(parsed);
}
