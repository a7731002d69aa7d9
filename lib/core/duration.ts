import { InvalidOptionError } from './errors.js';

/**
 * A duration: milliseconds as a number, or a string of one or more `<number><unit>` parts with the units `ms`, `s`,
 * `m`, `h`, `d`, e.g. `'500ms'`, `'30s'`, `'1.5h'`, `'1h30m'`, `'7d'`. The same grammar as `@every <duration>`.
 */
export type Duration = number | string;

/**
 * The longest duration any option takes: 10 years (`'3650d'`). Beyond it numbers lose meaning for Redis (TTLs,
 * scores) and for timers, so a larger value is refused instead of silently misbehaving.
 */
export const MAX_DURATION_MS = 3650 * 86_400_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
const ALLOWED = `a non-negative number of milliseconds or a string like '500ms', '30s', '5m', '1h30m', '24h', '7d'`;

/**
 * Reads the string form of a {@link Duration} (surrounding whitespace ignored, none inside). Returns whole ms, or
 * undefined when the text is not a duration.
 */
export function parseDurationText(text: string): number | undefined {
  const compact = text.trim();
  if (compact.length === 0) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  while (PART.lastIndex < compact.length) {
    const start = PART.lastIndex;
    const match = PART.exec(compact);
    if (!match || match.index !== start) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]];
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/**
 * Parses a {@link Duration} into whole milliseconds, at most {@link MAX_DURATION_MS}.
 * @throws InvalidOptionError naming `field` when the value is not a valid duration or is longer than 10 years.
 */
export function parseDuration(value: Duration, field: string): number {
  let ms: number | undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new InvalidOptionError(field, `got ${String(value)}; expected ${ALLOWED}`);
    ms = Math.round(value);
  } else if (typeof value === 'string') {
    ms = parseDurationText(value);
    if (ms === undefined) throw new InvalidOptionError(field, `got "${value}"; expected ${ALLOWED}`);
  } else {
    throw new InvalidOptionError(field, `got ${typeof value}; expected ${ALLOWED}`);
  }
  if (ms > MAX_DURATION_MS) {
    throw new InvalidOptionError(
      field,
      `got ${String(value)} (${ms} ms); the longest allowed is '3650d' (${MAX_DURATION_MS} ms, 10 years)`,
    );
  }
  return ms;
}

/** Like {@link parseDuration} but `undefined` stays `undefined`. */
export function parseOptionalDuration(value: Duration | undefined, field: string): number | undefined {
  return value === undefined ? undefined : parseDuration(value, field);
}
