import { RedisBroker } from './broker/redis-broker.js';
import type { Clock } from './clock.js';
import { closeClient, connect, duplicate, type RedisClient } from './connection.js';
import type { Schedule } from './cron.js';
import { parseDuration, type Duration } from './duration.js';
import { ClosedError, InvalidOptionError } from './errors.js';
import { newTaskId } from './ids.js';
import { DEFAULT_PREFIX, validatePrefix, type PayloadCodec, type TaskqOptions } from './options.js';
import {
  CorruptEntryError,
  decodeDefinition,
  fireMessageBuilder,
  parseState,
  resolvePeriodicEntry,
  validateEntryId,
  validateSource,
  type CatchUpPolicy,
  type EntryDefinition,
  type PeriodicOptions,
  type ResolvedEntry,
} from './periodic.js';
import { JSON_CODEC } from './task-info.js';

export type { CatchUpPolicy, PeriodicOptions } from './periodic.js';
export { FIRE_TIME_HEADER, PERIODIC_ID_HEADER } from './periodic.js';
export { InvalidCronspecError } from './cron.js';

/** Where the scheduler reports problems (Nest's `Logger` fits). */
export interface SchedulerLogger {
  error(message: string, ...meta: unknown[]): void;
  warn(message: string, ...meta: unknown[]): void;
}

/** One tick this scheduler enqueued (ticks won by another scheduler are not reported here). */
export interface PeriodicFireEvent {
  /** The entry id. */
  id: string;
  queue: string;
  type: string;
  /** The tick. */
  fireTime: Date;
  /** The enqueued task. */
  taskId: string;
  /** When the script that enqueued it returned (scheduler clock); `enqueuedAt - fireTime` is the lateness bound. */
  enqueuedAt: Date;
}

/** Scheduler options. */
export interface SchedulerOptions extends TaskqOptions {
  /**
   * Source of time. When not given, the scheduler uses the local clock corrected by its measured offset to the Redis
   * server's clock, so replicas with skewed clocks still agree on when a tick is due.
   * @defaultValue the system clock, aligned to Redis `TIME`
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
/** Fires per script call: bounded so `unpack` stays far below Lua's stack limit and a call stays short. */
const FIRES_PER_CALL = 500;
/** Late ticks of one entry fired in one pass at most (a guard; `misfireGrace` normally bounds them). */
const MAX_FIRES_PER_ENTRY_PASS = 100;
/** Change notifications arriving together cause one reload. */
const RELOAD_DEBOUNCE_MS = 20;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Upserts in flight at once during `sync`. */
const SYNC_PARALLELISM = 256;
/** Upper bound of the early wake-up that prepares a large tick before it is due. */
const MAX_PREPARE_AHEAD_MS = 150;
/** Pause before retrying ticks whose script call failed (Redis unreachable), so an outage is not a busy loop. */
const RETRY_AFTER_ERROR_MS = 250;

interface LiveEntry {
  id: string;
  queue: string;
  raw: string;
  definition: EntryDefinition;
  schedule: Schedule;
  rev: string;
  floor: number;
  prevFire: number;
  lastTaskId: string;
  /** The first tick after `floor`. */
  nextFire: number;
  /** Encodes the task message of one tick. */
  message: (fireMs: number, processAtMs: number) => string;
}

interface Fire {
  entry: LiveEntry;
  fireMs: number;
  taskId: string;
}

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
 * Registering, updating and removing entries works without `start()`; only ticking needs it.
 */
export class TaskScheduler {
  /** The command connection (yours if you passed an instance in). */
  readonly redis: RedisClient;
  private readonly owned: boolean;
  private readonly broker: RedisBroker;
  private readonly codec: PayloadCodec;
  private readonly clock?: Clock;
  private readonly logger: SchedulerLogger;
  private readonly graceMs: number;
  private readonly syncIntervalMs: number;
  private readonly onFire?: (event: PeriodicFireEvent) => void;
  private entries = new Map<string, LiveEntry>();
  private readonly reportedCorrupt = new Set<string>();
  private readonly knownQueues = new Set<string>();
  private offsetMs = 0;
  /** How early the tick timer wakes to prepare a pass (adapts to the last preparation time). */
  private prepareAheadMs = 0;
  private subscriber?: RedisClient;
  private tickTimer?: NodeJS.Timeout;
  private syncTimer?: NodeJS.Timeout;
  private reloadTimer?: NodeJS.Timeout;
  private work: Promise<void> = Promise.resolve();
  private started = false;
  private closed = false;

  constructor(options: SchedulerOptions = {}) {
    const prefix = validatePrefix(options.prefix ?? DEFAULT_PREFIX);
    this.graceMs = options.misfireGrace === undefined ? DEFAULT_MISFIRE_GRACE_MS : parseDuration(options.misfireGrace, 'misfireGrace');
    this.syncIntervalMs =
      options.syncInterval === undefined ? DEFAULT_SYNC_INTERVAL_MS : parseDuration(options.syncInterval, 'syncInterval');
    if (this.syncIntervalMs < 100) {
      throw new InvalidOptionError('syncInterval', `got ${this.syncIntervalMs} ms; expected at least 100ms`);
    }
    if (options.onFire !== undefined && typeof options.onFire !== 'function') {
      throw new InvalidOptionError('onFire', 'expected a function (event) => void');
    }
    const { client, owned } = connect(options.connection, 'taskq:scheduler');
    this.redis = client;
    this.owned = owned;
    this.broker = new RedisBroker(client, prefix);
    this.codec = options.codec ?? JSON_CODEC;
    this.clock = options.clock;
    this.logger = options.logger ?? consoleLogger;
    this.onFire = options.onFire;
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
    const entry = resolvePeriodicEntry(cronspec, type, payload, options, this.codec, this.now());
    const changed = await this.upsert(entry);
    if (changed) await this.announce();
    return entry.definition.id;
  }

  /**
   * Removes an entry; running schedulers stop ticking it at once.
   * @returns true when it existed.
   */
  async unregister(id: string): Promise<boolean> {
    this.assertOpen();
    validateEntryId(id);
    let removed = false;
    for (const queue of await this.cronQueues()) {
      if (await this.broker.removeCronEntry(queue, id)) removed = true;
    }
    if (removed) await this.announce();
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
    if (!Array.isArray(entries)) throw new InvalidOptionError('entries', 'expected an array of { cronspec, type, payload, options }');
    const now = this.now();
    const resolved: ResolvedEntry[] = [];
    const ids = new Set<string>();
    entries.forEach((input, index) => {
      try {
        const entry = resolvePeriodicEntry(input.cronspec, input.type, input.payload, input.options, this.codec, now, source);
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
    const queues = await this.cronQueues();
    for (let i = 0; i < resolved.length; i += SYNC_PARALLELISM) {
      const results = await Promise.all(resolved.slice(i, i + SYNC_PARALLELISM).map((entry) => this.upsert(entry, queues)));
      if (results.includes(true)) changed = true;
    }
    const removed: string[] = [];
    for (const stored of await this.readAll()) {
      if (stored.definition.source === source && !ids.has(stored.id)) {
        if (await this.broker.removeCronEntry(stored.queue, stored.id)) {
          removed.push(stored.id);
          changed = true;
        }
      }
    }
    if (changed) await this.announce();
    return { ids: [...ids], removed };
  }

  /** Every stored entry (corrupt ones are logged and left out), ordered by queue and id. */
  async list(): Promise<PeriodicEntry[]> {
    this.assertOpen();
    const now = this.now();
    const all = await this.readAll();
    all.sort((a, b) => (a.queue === b.queue ? (a.id < b.id ? -1 : 1) : a.queue < b.queue ? -1 : 1));
    return all.map((e) => {
      const d = e.definition;
      const lo = Math.max(e.floor, now - this.graceMs);
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
        nextFireAt: new Date(e.schedule.next(lo)),
      };
      if (d.source !== undefined) info.source = d.source;
      if (e.prevFire > 0) info.prevFireAt = new Date(e.prevFire);
      if (e.lastTaskId !== '') info.lastTaskId = e.lastTaskId;
      return info;
    });
  }

  /**
   * Starts ticking: loads the entries, follows change notifications and fires due ticks from a timer set for the
   * earliest next tick (nothing is polled).
   */
  async start(): Promise<void> {
    this.assertOpen();
    if (this.started) return;
    this.started = true;
    const subscriber = duplicate(this.redis, 'taskq:scheduler:sub');
    this.subscriber = subscriber;
    subscriber.on('error', (err: Error) => this.logger.warn(`change subscription: ${err.message}`));
    subscriber.on('message', () => this.scheduleReload());
    // After a reconnect a notification may have been lost: re-read.
    subscriber.on('ready', () => this.scheduleReload());
    await subscriber.subscribe(this.broker.global.cronChanged);
    await this.exclusive(async () => {
      await this.measureOffset();
      await this.reload();
    });
    this.armSync();
    await this.exclusive(() => this.pass());
  }

  /** Stops ticking and closes the connections the scheduler created. Entries stay in Redis. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.started = false;
    clearTimeout(this.tickTimer);
    clearTimeout(this.syncTimer);
    clearTimeout(this.reloadTimer);
    await this.work.catch(() => undefined);
    if (this.subscriber) await closeClient(this.subscriber);
    if (this.owned) await closeClient(this.redis);
  }

  /**
   * Fires every due tick now (what the timer does), using the entries as last loaded (by `start()` or
   * {@link refresh}). For tests and for callers that drive time with an injected clock.
   * @returns the ticks this scheduler enqueued.
   */
  async tick(): Promise<PeriodicFireEvent[]> {
    this.assertOpen();
    let fired: PeriodicFireEvent[] = [];
    await this.exclusive(async () => {
      fired = await this.pass();
    });
    return fired;
  }

  /** Re-reads the entries from Redis now (running schedulers also do so on every change notification). */
  async refresh(): Promise<void> {
    this.assertOpen();
    await this.exclusive(() => this.reload());
  }

  // ---- internals ----

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('TaskScheduler');
  }

  private now(): number {
    return this.clock ? this.clock.now() : Date.now() + this.offsetMs;
  }

  /** Serializes passes and reloads (they share the in-memory entries). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.work.then(fn);
    this.work = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private cronQueues(): Promise<string[]> {
    return this.broker.cronQueues();
  }

  private async upsert(entry: ResolvedEntry, cronQueues?: readonly string[]): Promise<boolean> {
    const { id, queue } = entry.definition;
    if (!this.knownQueues.has(queue)) {
      await this.broker.registerCronQueue(queue);
      this.knownQueues.add(queue);
    }
    // The same id in another queue is the same entry moved: remove the old one so there is never a duplicate.
    let changed = false;
    for (const other of cronQueues ?? (await this.cronQueues())) {
      if (other !== queue && (await this.broker.hasCronEntry(other, id))) {
        await this.broker.removeCronEntry(other, id);
        changed = true;
      }
    }
    const code = await this.broker.upsertCronEntry(queue, id, entry.json, this.now());
    return changed || code !== 0;
  }

  private async announce(): Promise<void> {
    await this.broker.announceCronChange();
  }

  /** Reads every stored entry with its state; corrupt ones are logged (once each) and skipped. */
  private async readAll(previous?: Map<string, LiveEntry>): Promise<LiveEntry[]> {
    const out: LiveEntry[] = [];
    for (const queue of await this.cronQueues()) {
      const { definitions: defs, states } = await this.broker.cronEntries(queue);
      for (const [id, raw] of Object.entries(defs)) {
        const key = `${queue}\u0000${id}`;
        const prior = previous?.get(key);
        const state = parseState(states[id]);
        try {
          if (!state) throw new CorruptEntryError(id, queue, `its fire state is ${JSON.stringify(states[id] ?? null)}`);
          let definition: EntryDefinition;
          let schedule: Schedule;
          let message: LiveEntry['message'];
          if (prior && prior.raw === raw) {
            ({ definition, schedule, message } = prior);
          } else {
            ({ definition, schedule } = decodeDefinition(id, queue, raw));
            message = fireMessageBuilder(definition);
          }
          // A tick this process fired may be newer than what it read (never older: floors only grow).
          const floor = prior && prior.rev === String(state.rev) ? Math.max(prior.floor, state.floor) : state.floor;
          out.push({
            id,
            queue,
            raw,
            definition,
            schedule,
            rev: String(state.rev),
            floor,
            prevFire: state.prevFire,
            lastTaskId: state.lastTaskId,
            nextFire: schedule.next(floor),
            message,
          });
        } catch (err) {
          const report = `${key}\u0000${raw}\u0000${states[id] ?? ''}`;
          if (!this.reportedCorrupt.has(report)) {
            this.reportedCorrupt.add(report);
            this.logger.error(`skipping periodic entry: ${(err as Error).message}`);
          }
        }
      }
    }
    return out;
  }

  private async reload(): Promise<void> {
    const next = new Map<string, LiveEntry>();
    for (const entry of await this.readAll(this.entries)) next.set(`${entry.queue}\u0000${entry.id}`, entry);
    this.entries = next;
  }

  private scheduleReload(): void {
    if (!this.started || this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = undefined;
      void this.exclusive(async () => {
        await this.reload();
        await this.pass();
      }).catch((err: unknown) => this.logger.error(`reloading periodic entries failed: ${(err as Error).message}`));
    }, RELOAD_DEBOUNCE_MS);
  }

  private armSync(): void {
    if (!this.started) return;
    this.syncTimer = setTimeout(() => {
      void this.exclusive(async () => {
        if (!this.clock) await this.measureOffset();
        await this.reload();
        await this.pass();
      })
        .catch((err: unknown) => this.logger.error(`reloading periodic entries failed: ${(err as Error).message}`))
        .finally(() => this.armSync());
    }, this.syncIntervalMs);
    this.syncTimer.unref();
  }

  /**
   * Aligns this process to the Redis server's clock (the sample with the shortest round trip wins), so schedulers on
   * hosts with skewed clocks agree on when a tick is due.
   */
  private async measureOffset(): Promise<void> {
    if (this.clock) return;
    let best: { rtt: number; offset: number } | undefined;
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const server = await this.broker.serverTime();
      const t1 = Date.now();
      const sample = { rtt: t1 - t0, offset: server - (t0 + t1) / 2 };
      if (!best || sample.rtt < best.rtt) best = sample;
    }
    // Sub-millisecond offsets are noise from rounding; ignoring them keeps local and Redis ms identical on one host.
    if (best) this.offsetMs = Math.abs(best.offset) < 2 ? 0 : Math.round(best.offset);
  }

  /** The ticks of `entry` to fire at `now`: the late ones within the grace window, or the last missed one. */
  private dueTicks(entry: LiveEntry, now: number): number[] {
    const lo = Math.max(entry.floor, now - this.graceMs);
    const times: number[] = [];
    let t = entry.nextFire > lo ? entry.nextFire : entry.schedule.next(lo);
    while (t <= now && times.length < MAX_FIRES_PER_ENTRY_PASS) {
      times.push(t);
      t = entry.schedule.next(t);
    }
    if (entry.nextFire <= lo && entry.floor < lo) {
      // Every scheduler was down or stalled across at least one tick.
      if (times.length === 0 && entry.definition.catchUp === 'last') {
        const last = entry.schedule.prev(now);
        if (last > entry.floor) times.push(last);
      }
      this.logger.warn(
        `periodic entry "${entry.id}" (queue "${entry.queue}") missed ticks from ${new Date(entry.nextFire).toISOString()} ` +
          `(no scheduler reached them within ${this.graceMs} ms)` +
          (entry.definition.catchUp === 'last' && times.length > 0 ? '; firing the last one once' : ''),
      );
    }
    return times;
  }

  /**
   * Fires the ticks due at `plannedAt` (default: now). When the timer woke early to prepare (see `armTick`), the
   * messages and arguments are built first and sent when `plannedAt` arrives, so a large tick's preparation does not
   * count against its lateness.
   */
  private async pass(plannedAt?: number): Promise<PeriodicFireEvent[]> {
    if (this.closed) return [];
    clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    const prepareStart = performance.now();
    const now = Math.max(this.now(), plannedAt ?? 0);
    const byQueue = new Map<string, Fire[]>();
    for (const entry of this.entries.values()) {
      if (entry.nextFire > now) continue;
      const ticks = this.dueTicks(entry, now);
      if (ticks.length > 0) {
        let fires = byQueue.get(entry.queue);
        if (!fires) byQueue.set(entry.queue, (fires = []));
        for (const fireMs of ticks) fires.push({ entry, fireMs, taskId: newTaskId() });
      }
      // Whatever the outcome, this scheduler is done with every tick up to now.
      entry.nextFire = entry.schedule.next(Math.max(now, entry.floor));
    }
    const batches: { queue: string; chunk: Fire[]; blob: string }[] = [];
    for (const [queue, fires] of byQueue) {
      for (let i = 0; i < fires.length; i += FIRES_PER_CALL) {
        const chunk = fires.slice(i, i + FIRES_PER_CALL);
        // One argument for the whole chunk: the per-argument cost dominates both ioredis' encoding and Lua's
        // unpacking. Entry ids have no whitespace and JSON has no raw newline, so the separators are unambiguous.
        let blob = '';
        for (const f of chunk) {
          const delay = f.entry.definition.processInMs;
          const processAt = delay > 0 && f.fireMs + delay > now ? f.fireMs + delay : 0;
          blob += `${f.entry.id} ${f.entry.rev} ${f.fireMs} ${f.taskId} ${processAt}\n${f.entry.message(f.fireMs, processAt)}\n`;
        }
        batches.push({ queue, chunk, blob });
      }
    }
    if (batches.length > 0) this.prepareAheadMs = Math.min(MAX_PREPARE_AHEAD_MS, Math.ceil((performance.now() - prepareStart) * 1.5) + 1);
    const wait = now - this.now();
    if (wait > 0 && batches.length > 0) await new Promise((r) => setTimeout(r, wait));

    const fired: PeriodicFireEvent[] = [];
    let stale = false;
    const failed = new Map<LiveEntry, number>();
    const calls = batches.map(({ queue, chunk, blob }) =>
      this.broker.fireCronTicks(queue, chunk.length, blob).then(
        (codes) => {
          const enqueuedAt = new Date(this.now());
          chunk.forEach((f, j) => {
            const code = Number(codes[j]);
            if (code === 0) {
              f.entry.floor = Math.max(f.entry.floor, f.fireMs);
              f.entry.prevFire = f.fireMs;
              f.entry.lastTaskId = f.taskId;
              const event: PeriodicFireEvent = {
                id: f.entry.id,
                queue,
                type: f.entry.definition.type,
                fireTime: new Date(f.fireMs),
                taskId: f.taskId,
                enqueuedAt,
              };
              fired.push(event);
              try {
                this.onFire?.(event);
              } catch (err) {
                this.logger.error(`onFire threw: ${(err as Error).message}`);
              }
            } else if (code === -1) {
              stale = true;
            } else if (code > f.entry.floor) {
              f.entry.floor = code;
            }
          });
        },
        (err: unknown) => {
          this.logger.error(`firing ${chunk.length} periodic tick(s) in queue "${queue}" failed: ${(err as Error).message.slice(0, 500)}`);
          for (const f of chunk) failed.set(f.entry, Math.min(failed.get(f.entry) ?? Infinity, f.fireMs));
        },
      ),
    );
    await Promise.all(calls);
    for (const fires of byQueue.values()) {
      for (const { entry } of fires) entry.nextFire = entry.schedule.next(Math.max(now, entry.floor));
    }
    // Failed ticks are retried by the next pass (while still within the grace window), after a pause.
    for (const [entry, fireMs] of failed) entry.nextFire = fireMs;
    if (stale) this.scheduleReload();
    this.armTick(failed.size > 0 ? RETRY_AFTER_ERROR_MS : 0);
    return fired;
  }

  private armTick(minDelay = 0): void {
    if (!this.started || this.closed) return;
    let earliest = Infinity;
    for (const entry of this.entries.values()) if (entry.nextFire < earliest) earliest = entry.nextFire;
    if (earliest === Infinity) return;
    // Wake a little early (as long as the last preparation took, with a margin) and send exactly at `earliest`.
    const delay = Math.min(Math.max(minDelay, earliest - this.now() - this.prepareAheadMs), MAX_TIMER_MS);
    clearTimeout(this.tickTimer);
    this.tickTimer = setTimeout(() => {
      void this.exclusive(() => this.pass(minDelay > 0 ? undefined : earliest)).catch((err: unknown) => {
        this.logger.error(`periodic tick failed: ${(err as Error).message}`);
        this.armTick(RETRY_AFTER_ERROR_MS);
      });
    }, delay);
  }
}
