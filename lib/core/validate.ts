import { MAX_DURATION_MS } from './duration.js';
import { InvalidOptionError } from './errors.js';

/** An integer from 0 to `max`. @throws InvalidOptionError naming `field` */
export function validateNonNegativeInteger(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new InvalidOptionError(
      field,
      `got ${String(value)}; expected a non-negative integer${max < Number.MAX_SAFE_INTEGER ? ` of at most ${max}` : ''}`,
    );
  }
  return value;
}

/**
 * A valid Date at most 10 years ({@link MAX_DURATION_MS}) after `now`, as ms since the epoch (a past date is allowed).
 * @throws InvalidOptionError naming `field`
 */
export function validateDate(value: unknown, field: string, now: number): number {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new InvalidOptionError(field, `got ${String(value)}; expected a valid Date`);
  }
  const ms = value.getTime();
  if (ms > now + MAX_DURATION_MS) {
    throw new InvalidOptionError(field, `got ${value.toISOString()}; expected a date at most 10 years from now`);
  }
  return ms;
}

/** A task id: a non-empty string of at most 256 characters. @throws InvalidOptionError */
export function validateTaskId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
    throw new InvalidOptionError(
      field,
      `got ${JSON.stringify(id)}; a task id is a non-empty string of at most 256 characters`,
    );
  }
  return id;
}
