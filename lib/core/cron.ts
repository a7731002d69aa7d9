import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { InvalidOptionError, TaskqError } from './errors.js';

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

/** A cronspec was rejected at registration: the message quotes it and says what is allowed. Nothing was stored. */
export class InvalidCronspecError extends TaskqError {
  constructor(
    /** The rejected cronspec, as given. */
    readonly cronspec: string,
    reason: string,
  ) {
    super('INVALID_CRONSPEC', `invalid cronspec ${JSON.stringify(cronspec)}: ${reason}; expected ${ALLOWED_SPECS}`);
  }
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

const EVERY_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const EVERY_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/**
 * Parses the duration of `@every`: one or more `<number><unit>` parts (units ms, s, m, h, d), e.g. `30s`, `1h30m`,
 * `1.5h`. Returns whole ms, or undefined when unparsable.
 */
export function parseEveryDuration(text: string): number | undefined {
  const compact = text.trim();
  if (compact.length === 0) return undefined;
  EVERY_PART.lastIndex = 0;
  let total = 0;
  while (EVERY_PART.lastIndex < compact.length) {
    const match = EVERY_PART.exec(compact);
    if (!match) return undefined;
    total += Number(match[1]) * EVERY_UNIT_MS[match[2]];
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

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
    throw new InvalidOptionError('tz', `got ${JSON.stringify(tz)}; expected an IANA time zone name such as 'Europe/Berlin' or 'UTC'`);
  }
  if (knownZones.has(tz)) return tz;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    knownZones.add(tz);
  } catch {
    throw new InvalidOptionError('tz', `unknown time zone ${JSON.stringify(tz)}; expected an IANA name such as 'Europe/Berlin' or 'UTC'`);
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
  if (typeof cronspec !== 'string') throw new InvalidCronspecError(String(cronspec), `got ${typeof cronspec}, not a string`);
  validateTimeZone(tz);
  const spec = cronspec.trim();
  if (spec.length === 0) throw new InvalidCronspecError(cronspec, 'it is empty');
  if (/^@every(\s|$)/i.test(spec)) {
    const text = spec.slice('@every'.length);
    const ms = parseEveryDuration(text);
    if (ms === undefined) throw new InvalidCronspecError(cronspec, `cannot parse the duration ${JSON.stringify(text.trim())}`);
    if (ms < MIN_EVERY_MS) throw new InvalidCronspecError(cronspec, `the interval is ${ms} ms; @every needs at least 1s`);
    return new EverySchedule(ms);
  }
  let expression = spec;
  if (spec.startsWith('@')) {
    const mapped = DESCRIPTORS[spec.toLowerCase()];
    if (mapped === undefined) throw new InvalidCronspecError(cronspec, `unknown descriptor ${JSON.stringify(spec)}`);
    expression = mapped;
  } else {
    const fields = spec.split(/\s+/).length;
    if (fields !== 5 && fields !== 6) throw new InvalidCronspecError(cronspec, `it has ${fields} fields`);
  }
  let parsed: CronExpression;
  try {
    parsed = CronExpressionParser.parse(expression, { tz, currentDate: new Date() });
    // Some impossible specs (e.g. '0 0 31 2 *' in a loop) only fail when a date is searched.
    parsed.next();
  } catch (err) {
    throw new InvalidCronspecError(cronspec, (err as Error).message);
  }
  return new CronSchedule(parsed);
}
