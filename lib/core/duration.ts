import { InvalidOptionError } from './errors.js';

/** A duration: milliseconds as a number, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'24h'`, `'7d'`. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;
const ALLOWED = `a non-negative number of milliseconds or a string like '500ms', '30s', '5m', '24h', '7d'`;

/**
 * Parses a {@link Duration} into whole milliseconds.
 * @throws InvalidOptionError naming `field` when the value is not a valid duration.
 */
export function parseDuration(value: Duration, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new InvalidOptionError(field, `got ${String(value)}; expected ${ALLOWED}`);
    return Math.round(value);
  }
  if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value);
    if (!match) throw new InvalidOptionError(field, `got "${value}"; expected ${ALLOWED}`);
    return Math.round(Number(match[1]) * UNIT_MS[match[2]]);
  }
  throw new InvalidOptionError(field, `got ${typeof value}; expected ${ALLOWED}`);
}

/** Like {@link parseDuration} but `undefined` stays `undefined`. */
export function parseOptionalDuration(value: Duration | undefined, field: string): number | undefined {
  return value === undefined ? undefined : parseDuration(value, field);
}
