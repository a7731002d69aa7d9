import type { PeriodicOps, PreparedTicks, TickFire } from '../broker/broker.js';
import { TickCode } from '../broker/script-codes.js';
import type { Clock } from '../clock.js';
import { newTaskId } from '../ids.js';
import { startTimer, type Timer } from '../timers.js';
import { entryKey, type LiveEntry } from './entry-store.js';

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

/** Where the scheduler reports problems (Nest's `Logger` fits). */
export interface SchedulerLogger {
  error(message: string, ...meta: unknown[]): void;
  warn(message: string, ...meta: unknown[]): void;
}

/** What the ticker needs. */
export interface TickerParams {
  broker: Pick<PeriodicOps, 'prepareTicks' | 'fireTicks'>;
  clock: Clock;
  graceMs: number;
  logger: SchedulerLogger;
  onFire?: (event: PeriodicFireEvent) => void;
  /** A fire was refused as stale (the entry changed): re-read the entries. */
  onStale: () => void;
  /** Runs a pass from the timer, serialized with reloads. */
  runExclusive: (pass: () => Promise<unknown>) => Promise<unknown>;
}

/** Fires per script call: bounded so `unpack` stays far below Lua's stack limit and a call stays short. */
const FIRES_PER_CALL = 500;
/** Late ticks of one entry fired in one pass at most (a guard; `misfireGrace` normally bounds them). */
const MAX_FIRES_PER_ENTRY_PASS = 100;
/** Upper bound of the early wake-up that prepares a large tick before it is due. */
const MAX_PREPARE_AHEAD_MS = 150;
/** Pause before retrying ticks whose script call failed (Redis unreachable), so an outage is not a busy loop. */
const RETRY_AFTER_ERROR_MS = 250;

interface Fire {
  entry: LiveEntry;
  tick: TickFire;
}

/**
 * Fires due ticks: computes each entry's due ticks itself and fires them through the broker's compare-and-set, so
 * of all the schedulers computing the same tick exactly one enqueues it. A timer is set for the earliest next tick
 * (nothing is polled); it wakes a little early to prepare a large tick and sends it exactly on time.
 */
export class Ticker {
  private entries = new Map<string, LiveEntry>();
  /** How early the tick timer wakes to prepare a pass (adapts to the last preparation time). */
  private prepareAheadMs = 0;
  private timer?: Timer;
  private armed = false;

  constructor(private readonly p: TickerParams) {}

  /** The entries as last loaded. */
  get current(): ReadonlyMap<string, LiveEntry> {
    return this.entries;
  }

  /** Replaces the entries (after a reload). */
  setEntries(list: LiveEntry[]): void {
    const next = new Map<string, LiveEntry>();
    for (const entry of list) next.set(entryKey(entry.queue, entry.id), entry);
    this.entries = next;
  }

  /** Lets passes arm the timer (false: a pass fires what is due and sets no timer). */
  setArmed(armed: boolean): void {
    this.armed = armed;
    if (!armed) this.timer?.clear();
  }

  /**
   * Fires the ticks due at `plannedAt` (default: now). When the timer woke early to prepare, the ticks are encoded
   * first and sent when `plannedAt` arrives, so a large tick's preparation does not count against its lateness.
   */
  async pass(plannedAt?: number): Promise<PeriodicFireEvent[]> {
    this.timer?.clear();
    this.timer = undefined;
    const prepareStart = performance.now();
    const now = Math.max(this.p.clock.now(), plannedAt ?? 0);
    const byQueue = this.dueFires(now);
    const batches: { chunk: Fire[]; prepared: PreparedTicks }[] = [];
    for (const [queue, fires] of byQueue) {
      for (let i = 0; i < fires.length; i += FIRES_PER_CALL) {
        const chunk = fires.slice(i, i + FIRES_PER_CALL);
        batches.push({
          chunk,
          prepared: this.p.broker.prepareTicks(
            queue,
            chunk.map((f) => f.tick),
          ),
        });
      }
    }
    // A clock that fires its own timers (a SimulatedClock) is not woken early: the wait would be real time it never sees.
    if (batches.length > 0 && !this.p.clock.schedule)
      this.prepareAheadMs = Math.min(MAX_PREPARE_AHEAD_MS, Math.ceil((performance.now() - prepareStart) * 1.5) + 1);
    const wait = now - this.p.clock.now();
    if (wait > 0 && batches.length > 0) await new Promise((r) => setTimeout(r, wait));

    const fired: PeriodicFireEvent[] = [];
    let stale = false;
    const failed = new Map<LiveEntry, number>();
    await Promise.all(
      batches.map(({ chunk, prepared }) =>
        this.p.broker.fireTicks(prepared).then(
          (codes) => {
            const enqueuedAt = new Date(this.p.clock.now());
            chunk.forEach((f, j) => {
              const code = codes[j];
              if (code === TickCode.Fired) fired.push(this.recordFire(f, enqueuedAt, prepared.queue));
              else if (code === TickCode.Stale) stale = true;
              else if (code > f.entry.floor) f.entry.floor = code;
            });
          },
          (err: unknown) => {
            this.p.logger.error(
              `firing ${chunk.length} periodic tick(s) in queue "${prepared.queue}" failed: ${(err as Error).message.slice(0, 500)}`,
            );
            for (const f of chunk) failed.set(f.entry, Math.min(failed.get(f.entry) ?? Infinity, f.tick.fireMs));
          },
        ),
      ),
    );
    for (const fires of byQueue.values()) {
      for (const { entry } of fires) entry.nextFire = entry.schedule.next(Math.max(now, entry.floor));
    }
    // Failed ticks are retried by the next pass (while still within the grace window), after a pause.
    for (const [entry, fireMs] of failed) entry.nextFire = fireMs;
    if (stale) this.p.onStale();
    this.arm(failed.size > 0 ? RETRY_AFTER_ERROR_MS : 0);
    return fired;
  }

  /** Every due tick of every entry, by queue; every entry is done with the ticks up to `now` afterwards. */
  private dueFires(now: number): Map<string, Fire[]> {
    const byQueue = new Map<string, Fire[]>();
    for (const entry of this.entries.values()) {
      if (entry.nextFire > now) continue;
      const ticks = this.dueTicks(entry, now);
      if (ticks.length > 0) {
        let fires = byQueue.get(entry.queue);
        if (!fires) byQueue.set(entry.queue, (fires = []));
        for (const fireMs of ticks) {
          const delay = entry.definition.processInMs;
          const processAtMs = delay > 0 && fireMs + delay > now ? fireMs + delay : 0;
          const tick: TickFire = {
            entryId: entry.id,
            rev: entry.rev,
            fireMs,
            taskId: newTaskId(),
            processAtMs,
            message: entry.message(fireMs, processAtMs),
          };
          fires.push({ entry, tick });
        }
      }
      // Whatever the outcome, this scheduler is done with every tick up to now.
      entry.nextFire = entry.schedule.next(Math.max(now, entry.floor));
    }
    return byQueue;
  }

  /** The ticks of `entry` to fire at `now`: the late ones within the grace window, or the last missed one. */
  private dueTicks(entry: LiveEntry, now: number): number[] {
    const lo = Math.max(entry.floor, now - this.p.graceMs);
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
      this.p.logger.warn(
        `periodic entry "${entry.id}" (queue "${entry.queue}") missed ticks from ${new Date(entry.nextFire).toISOString()} ` +
          `(no scheduler reached them within ${this.p.graceMs} ms)` +
          (entry.definition.catchUp === 'last' && times.length > 0 ? '; firing the last one once' : ''),
      );
    }
    return times;
  }

  private recordFire({ entry, tick }: Fire, enqueuedAt: Date, queue: string): PeriodicFireEvent {
    entry.floor = Math.max(entry.floor, tick.fireMs);
    entry.prevFire = tick.fireMs;
    entry.lastTaskId = tick.taskId;
    const event: PeriodicFireEvent = {
      id: entry.id,
      queue,
      type: entry.definition.type,
      fireTime: new Date(tick.fireMs),
      taskId: tick.taskId,
      enqueuedAt,
    };
    try {
      this.p.onFire?.(event);
    } catch (err) {
      this.p.logger.error(`onFire threw: ${(err as Error).message}`);
    }
    return event;
  }

  /** Sets the timer for the earliest next tick (after at least `minDelay`). */
  arm(minDelay = 0): void {
    if (!this.armed) return;
    let earliest = Infinity;
    for (const entry of this.entries.values()) if (entry.nextFire < earliest) earliest = entry.nextFire;
    if (earliest === Infinity) return;
    // Wake a little early (as long as the last preparation took, with a margin) and send exactly at `earliest`.
    const delay = Math.max(minDelay, earliest - this.p.clock.now() - this.prepareAheadMs);
    this.timer?.clear();
    this.timer = startTimer(this.p.clock, delay, () => {
      void this.p
        .runExclusive(() => this.pass(minDelay > 0 ? undefined : earliest))
        .catch((err: unknown) => {
          this.p.logger.error(`periodic tick failed: ${(err as Error).message}`);
          this.arm(RETRY_AFTER_ERROR_MS);
        });
    });
  }
}
