import { systemClock } from '../clock.js';
import { parseDuration } from '../duration.js';
import { startTimer, type Timer } from '../timers.js';
import { InvalidOptionError } from '../errors.js';
import { TaskqLifecycle, type BrokerInternals } from '../lifecycle.js';
import { resolveProducerLimits } from '../producer-options.js';
import { EntryStore, type LiveEntry } from './entry-store.js';
import { resolvePeriodicEntry, validateEntryId, validateSource, type ResolvedEntry } from './entry.js';
import {
  DEFAULT_MISFIRE_GRACE_MS,
  DEFAULT_SYNC_INTERVAL_MS,
  type PeriodicEntry,
  type PeriodicEntryInput,
  type SchedulerOptions,
  type SyncResult,
} from './scheduler-options.js';
import { ServerClock } from './server-clock.js';
import { Ticker, type PeriodicFireEvent, type SchedulerLogger } from './ticker.js';
import type { PeriodicOptions } from './entry.js';

/** Change notifications arriving together cause one reload. */
const RELOAD_DEBOUNCE_MS = 20;
/** Upserts in flight at once during `sync`. */
const SYNC_PARALLELISM = 256;

const consoleLogger: SchedulerLogger = {
  error: (message, ...meta) => console.error(`[taskq scheduler] ${message}`, ...meta),
  warn: (message, ...meta) => console.warn(`[taskq scheduler] ${message}`, ...meta),
};

/**
 * Periodic tasks. Entries are durable in Redis and shared by every scheduler on the same prefix; any number of
 * schedulers may run (every TaskqServer replica runs one by default) and each tick still enqueues exactly one task:
 * every scheduler computes the due ticks itself and fires them through one script that compares-and-sets the
 * entry's last fire time and enqueues in the same atomic step, so the other schedulers' attempts are no-ops. There
 * is no leader to elect, and no tick is missed while at least one scheduler runs.
 *
 * Registering, updating and removing entries works without `start()`; only ticking needs it. Errors (a failed tick,
 * a corrupt entry) go to the `logger` and to `on('error')` listeners, as the worker reports its own.
 */
export class TaskScheduler extends TaskqLifecycle {
  private readonly clock: ServerClock;
  private readonly logger: SchedulerLogger;
  private readonly graceMs: number;
  private readonly syncIntervalMs: number;
  private readonly maxPayloadSize: number;
  private readonly store: EntryStore;
  private readonly ticker: Ticker;
  private syncTimer?: Timer;
  private reloadTimer?: Timer;
  private work: Promise<void> = Promise.resolve();
  private started = false;

  /** @throws InvalidOptionError naming the invalid option; nothing connects then. */
  constructor(options: SchedulerOptions & BrokerInternals = {}) {
    const graceMs =
      options.misfireGrace === undefined
        ? DEFAULT_MISFIRE_GRACE_MS
        : parseDuration(options.misfireGrace, 'misfireGrace');
    const syncIntervalMs =
      options.syncInterval === undefined
        ? DEFAULT_SYNC_INTERVAL_MS
        : parseDuration(options.syncInterval, 'syncInterval');
    if (syncIntervalMs < 100)
      throw new InvalidOptionError('syncInterval', `got ${syncIntervalMs} ms; expected at least 100ms`);
    if (options.onFire !== undefined && typeof options.onFire !== 'function') {
      throw new InvalidOptionError('onFire', 'expected a function (event) => void');
    }
    const { maxPayloadSize } = resolveProducerLimits(options);
    super(options, 'TaskScheduler', 'taskq:scheduler');
    this.maxPayloadSize = maxPayloadSize;
    this.graceMs = graceMs;
    this.syncIntervalMs = syncIntervalMs;
    const logger = options.logger ?? consoleLogger;
    // Errors reach the logger and the error listeners alike; warnings (missed ticks) only the logger.
    this.logger = {
      error: (message, ...meta) => {
        logger.error(message, ...meta);
        this.events.emit('error', new Error(message));
      },
      warn: (message, ...meta) => logger.warn(message, ...meta),
    };
    this.clock = new ServerClock(this.broker.periodic, options.clock ?? this.broker.clock);
    this.store = new EntryStore(this.broker.periodic, (message) => this.logger.error(message));
    this.ticker = new Ticker({
      broker: this.broker.periodic,
      clock: this.clock,
      graceMs,
      logger: this.logger,
      onFire: options.onFire,
      onStale: () => this.scheduleReload(),
      runExclusive: (pass) => this.exclusive(pass),
    });
  }

  /**
   * Stores a periodic entry, or updates the entry with the same id in place (a changed spec or tz takes effect from
   * now on; the last fire time is kept, so no tick fires twice). Running schedulers learn of it at once.
   * @param cronspec 5-field cron, 6-field cron with leading seconds, `?`, month/day names, `@yearly` `@annually`
   *   `@monthly` `@weekly` `@daily` `@midnight` `@hourly`, or `@every <duration>` (at least 1s, e.g. `@every 1h30m`).
   * @returns the entry id (`options.id`, else derived from cronspec, type, payload and queue).
   * @throws InvalidCronspecError, or InvalidOptionError naming the field; nothing is stored then.
   */
  async register(cronspec: string, type: string, payload: unknown, options?: PeriodicOptions): Promise<string> {
    this.assertOpen();
    const entry = resolvePeriodicEntry(
      cronspec,
      type,
      payload,
      options,
      this.codec,
      this.clock.now(),
      undefined,
      this.maxPayloadSize,
    );
    if (await this.store.upsert(entry, this.clock.now())) await this.store.announce();
    return entry.definition.id;
  }

  /**
   * Removes an entry; running schedulers stop ticking it at once.
   * @returns true when it existed.
   */
  async unregister(id: string): Promise<boolean> {
    this.assertOpen();
    validateEntryId(id);
    const removed = await this.store.removeAnywhere(id);
    if (removed) await this.store.announce();
    return removed;
  }

  /**
   * Replaces the entries of one `source` (a config file, a database table...) with `entries`: each is created or
   * updated in place, and the source's entries missing from the list are removed. Entries of other sources and
   * entries registered with `register` are left alone. Every entry is validated before anything is written.
   * @throws InvalidCronspecError or InvalidOptionError (message prefixed with the entry's index); nothing is stored.
   */
  async sync(source: string, entries: readonly PeriodicEntryInput[]): Promise<SyncResult> {
    this.assertOpen();
    validateSource(source);
    if (!Array.isArray(entries))
      throw new InvalidOptionError('entries', 'expected an array of { cronspec, type, payload, options }');
    const now = this.clock.now();
    const resolved: ResolvedEntry[] = [];
    const ids = new Set<string>();
    entries.forEach((input, index) => {
      try {
        const entry = resolvePeriodicEntry(
          input.cronspec,
          input.type,
          input.payload,
          input.options,
          this.codec,
          now,
          source,
          this.maxPayloadSize,
        );
        if (ids.has(entry.definition.id)) {
          throw new InvalidOptionError('id', `entry id "${entry.definition.id}" appears twice in the list`);
        }
        ids.add(entry.definition.id);
        resolved.push(entry);
      } catch (err) {
        if (err instanceof Error) err.message = `entries[${index}]: ${err.message}`;
        throw err;
      }
    });
    let changed = false;
    // Upserts are independent: send them in parallel (ioredis pipelines them on the one connection).
    const queues = await this.store.queues();
    for (let i = 0; i < resolved.length; i += SYNC_PARALLELISM) {
      const results = await Promise.all(
        resolved.slice(i, i + SYNC_PARALLELISM).map((entry) => this.store.upsert(entry, now, queues)),
      );
      if (results.includes(true)) changed = true;
    }
    const removed: string[] = [];
    for (const stored of await this.store.readAll()) {
      if (
        stored.definition.source === source &&
        !ids.has(stored.id) &&
        (await this.store.remove(stored.queue, stored.id))
      ) {
        removed.push(stored.id);
        changed = true;
      }
    }
    if (changed) await this.store.announce();
    return { ids: [...ids], removed };
  }

  /** Every stored entry (corrupt ones are logged and left out), ordered by queue and id. */
  async list(): Promise<PeriodicEntry[]> {
    this.assertOpen();
    const now = this.clock.now();
    const all = await this.store.readAll();
    all.sort((a, b) => (a.queue === b.queue ? (a.id < b.id ? -1 : 1) : a.queue < b.queue ? -1 : 1));
    return all.map((e) => this.describe(e, now));
  }

  /**
   * Starts ticking: loads the entries, follows change notifications and fires due ticks from a timer set for the
   * earliest next tick (nothing is polled).
   */
  async start(): Promise<void> {
    this.assertOpen();
    if (this.started) return;
    this.started = true;
    // After a reconnect a notification may have been lost: re-read.
    this.broker.notify.onResubscribed(() => this.scheduleReload());
    await this.broker.notify.subscribeCronChange(() => this.scheduleReload());
    await this.exclusive(async () => {
      await this.clock.align();
      await this.reload();
    });
    this.ticker.setArmed(true);
    this.armSync();
    await this.exclusive(() => this.ticker.pass());
  }

  /** Stops ticking and closes the connections the scheduler created. Entries stay in Redis. */
  async shutdown(): Promise<void> {
    if (!this.markClosed()) return;
    this.started = false;
    this.ticker.setArmed(false);
    this.syncTimer?.clear();
    this.reloadTimer?.clear();
    await this.work.catch(() => undefined);
    await this.closeBroker();
  }

  /**
   * Fires every due tick now (what the timer does), using the entries as last loaded (by `start()` or
   * {@link refresh}). For tests and for callers that drive time with an injected clock.
   * @returns the ticks this scheduler enqueued.
   */
  async tick(): Promise<PeriodicFireEvent[]> {
    this.assertOpen();
    return this.exclusive(() => this.ticker.pass());
  }

  /** Re-reads the entries from Redis now (running schedulers also do so on every change notification). */
  async refresh(): Promise<void> {
    this.assertOpen();
    await this.exclusive(() => this.reload());
  }

  /** Serializes passes and reloads (they share the in-memory entries); nothing runs once closed. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.work.then(() => (this.isClosed ? (undefined as T) : fn()));
    this.work = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async reload(): Promise<void> {
    this.ticker.setEntries(await this.store.readAll(this.ticker.current));
  }

  private scheduleReload(): void {
    if (!this.started || this.reloadTimer) return;
    // On the scheduler's clock: a SimulatedClock sees the debounce too, and moving it past the debounce reloads.
    this.reloadTimer = startTimer(this.clock, RELOAD_DEBOUNCE_MS, () => {
      this.reloadTimer = undefined;
      void this.exclusive(async () => {
        await this.reload();
        await this.ticker.pass();
      }).catch((err: unknown) => this.logger.error(`reloading periodic entries failed: ${(err as Error).message}`));
    });
  }

  private armSync(): void {
    if (!this.started) return;
    // Real time, whatever the clock: this is the safety net for lost change notifications.
    this.syncTimer = startTimer(
      systemClock,
      this.syncIntervalMs,
      () => {
        void this.exclusive(async () => {
          await this.clock.align();
          await this.reload();
          await this.ticker.pass();
        })
          .catch((err: unknown) => this.logger.error(`reloading periodic entries failed: ${(err as Error).message}`))
          .finally(() => this.armSync());
      },
      { unref: true },
    );
  }

  private describe(e: LiveEntry, now: number): PeriodicEntry {
    const d = e.definition;
    const info: PeriodicEntry = {
      id: e.id,
      spec: d.spec,
      type: d.type,
      payload: this.codec.decode(d.payload),
      queue: d.queue,
      tz: d.tz,
      catchUp: d.catchUp,
      maxRetry: d.maxRetry,
      timeoutMs: d.timeoutMs,
      retentionMs: d.retentionMs,
      processInMs: d.processInMs,
      headers: d.headers,
      nextFireAt: new Date(e.schedule.next(Math.max(e.floor, now - this.graceMs))),
    };
    if (d.source !== undefined) info.source = d.source;
    if (e.prevFire > 0) info.prevFireAt = new Date(e.prevFire);
    if (e.lastTaskId !== '') info.lastTaskId = e.lastTaskId;
    return info;
  }
}
