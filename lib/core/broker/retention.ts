import { utcDay } from '../clock.js';

/**
 * What every backend keeps and for how long, in one place (as Asynq keeps it): the archive's bounds and the lifetime
 * of the daily counters.
 */

/** Archive limits: at most this many archived tasks per queue... */
export const MAX_ARCHIVED_TASKS = 10_000;
/** ...kept at most this long (90 days). */
export const MAX_ARCHIVE_AGE_MS = 90 * 86_400_000;
/** How long daily counters live (90 days). */
export const DAILY_STATS_TTL_MS = 90 * 86_400_000;

/** The UTC day of `now` and when a daily counter created now expires (90 days after that day began). */
export function counterDay(now: number): { day: string; expireAt: number } {
  const day = utcDay(now);
  return { day, expireAt: Date.parse(day) + DAILY_STATS_TTL_MS };
}
