import { InvalidOptionError } from './errors.js';

/** A non-negative integer. @throws InvalidOptionError naming `field` */
export function validateNonNegativeInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidOptionError(field, `got ${String(value)}; expected a non-negative integer`);
  }
  return value;
}

/** A valid Date, as ms since the epoch. @throws InvalidOptionError naming `field` */
export function validateDate(value: unknown, field: string): number {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new InvalidOptionError(field, `got ${String(value)}; expected a valid Date`);
  }
  return value.getTime();
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
