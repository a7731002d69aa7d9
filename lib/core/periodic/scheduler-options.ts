import type { Clock } from '../clock.js';
import type { Duration } from '../duration.js';
import type { TaskqOptions } from '../options.js';
import type { CatchUpPolicy, PeriodicOptions } from './entry.js';
import type { PeriodicFireEvent, SchedulerLogger } from './ticker.js';

/** Scheduler options. */
export interface SchedulerOptions extends TaskqOptions {
  /**
   * Source of time. When not given, the scheduler uses the local clock corrected by its measured offset to the Redis
   * server's clock, so replicas with skewed clocks still agree on when a tick is due.
   * @defaultValue the system clock, aligned to Redis `TIME` (an in-memory store: its own clock)
   */
  clock?: Clock;
  /** Where errors (corrupt entries, failed ticks) and warnings (missed ticks) go. @defaultValue `console` */
  logger?: SchedulerLogger;
  /**
   * A tick reached at most this late still fires (late); an older one counts as missed (see `catchUp`). Several
   * late ticks of one entry inside this window each fire.
   * @defaultValue `'5s'`
   */
  misfireGrace?: Duration;
  /**
   * How often entries are re-read from Redis even without a change notification (the safety net for a lost
   * pub/sub message). Changes made through any TaskScheduler are announced at once on `<prefix>:cron:changed`.
   * @defaultValue `'30s'`
   */
  syncInterval?: Duration;
  /** Called for every tick this scheduler enqueued. @defaultValue none */
  onFire?: (event: PeriodicFireEvent) => void;
}

/** A periodic entry as `list()` reports it. */
export interface PeriodicEntry {
  id: string;
  /** The cronspec as registered (trimmed). */
  spec: string;
  type: string;
  /** The payload, decoded by the payload codec. */
  payload: unknown;
  queue: string;
  tz: string;
  catchUp: CatchUpPolicy;
  /** The `sync` source that owns the entry, if any. */
  source?: string;
  maxRetry: number;
  timeoutMs: number;
  retentionMs: number;
  processInMs: number;
  headers: Record<string, string>;
  /** The next tick. */
  nextFireAt: Date;
  /** The last tick that fired, if any. */
  prevFireAt?: Date;
  /** The task the last tick enqueued, if any. */
  lastTaskId?: string;
}

/** An entry for `sync`. */
export interface PeriodicEntryInput {
  cronspec: string;
  type: string;
  payload?: unknown;
  options?: PeriodicOptions;
}

/** What `sync` did. */
export interface SyncResult {
  /** Ids of the source's entries now stored (created, updated or unchanged). */
  ids: string[];
  /** Ids of the source's entries that were removed because they were not in the list. */
  removed: string[];
}

/** Default misfire grace (5 s). */
export const DEFAULT_MISFIRE_GRACE_MS = 5_000;
/** Default re-read interval (30 s). */
export const DEFAULT_SYNC_INTERVAL_MS = 30_000;
