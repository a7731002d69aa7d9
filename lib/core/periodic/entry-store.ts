import type { PeriodicOps } from '../broker/broker.js';
import type { Schedule } from './cron.js';
import { CorruptEntryError, decodeDefinition, parseState, type EntryDefinition, type ResolvedEntry } from './entry.js';
import { fireMessageBuilder } from './fire-message.js';

/** An entry as the ticker holds it: its definition, its schedule and its fire state, read from Redis. */
export interface LiveEntry {
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

/** The key of an entry among all queues' entries. */
export const entryKey = (queue: string, id: string): string => `${queue}\u0000${id}`;

/**
 * Registration and reading of periodic entries in the broker: upserts (an id moved to another queue leaves its old
 * queue), removals, and reading every entry with its fire state (corrupt ones reported once each and skipped).
 */
export class EntryStore {
  private readonly knownQueues = new Set<string>();
  private readonly reportedCorrupt = new Set<string>();

  constructor(
    private readonly broker: PeriodicOps,
    private readonly reportCorrupt: (message: string) => void,
  ) {}

  /** Queues that hold periodic entries. */
  queues(): Promise<string[]> {
    return this.broker.cronQueues();
  }

  /** Stores an entry; true when something changed. `cronQueues` saves a read when the caller has them. */
  async upsert(entry: ResolvedEntry, now: number, cronQueues?: readonly string[]): Promise<boolean> {
    const { id, queue } = entry.definition;
    if (!this.knownQueues.has(queue)) {
      await this.broker.registerCronQueue(queue);
      this.knownQueues.add(queue);
    }
    // The same id in another queue is the same entry moved: remove the old one so there is never a duplicate.
    let changed = false;
    for (const other of cronQueues ?? (await this.queues())) {
      if (other !== queue && (await this.broker.hasCronEntry(other, id))) {
        await this.broker.removeCronEntry(other, id);
        changed = true;
      }
    }
    const code = await this.broker.upsertCronEntry(queue, id, entry.json, now);
    return changed || code !== 0;
  }

  /** Removes entry `id` from `queue`; true when it existed. */
  remove(queue: string, id: string): Promise<boolean> {
    return this.broker.removeCronEntry(queue, id);
  }

  /** Removes entry `id` from whichever queue holds it; true when it existed. */
  async removeAnywhere(id: string): Promise<boolean> {
    let removed = false;
    for (const queue of await this.queues()) {
      if (await this.broker.removeCronEntry(queue, id)) removed = true;
    }
    return removed;
  }

  /** Tells every scheduler that entries changed. */
  announce(): Promise<void> {
    return this.broker.announceCronChange();
  }

  /**
   * Reads every stored entry with its state. An entry whose definition is unchanged since `previous` keeps its
   * decoded form, and a tick this process fired keeps its floor (never older than what was read: floors only grow).
   */
  async readAll(previous?: ReadonlyMap<string, LiveEntry>): Promise<LiveEntry[]> {
    const out: LiveEntry[] = [];
    for (const queue of await this.queues()) {
      const { definitions, states } = await this.broker.cronEntries(queue);
      for (const [id, raw] of Object.entries(definitions)) {
        const entry = this.toLive(queue, id, raw, states[id], previous?.get(entryKey(queue, id)));
        if (entry) out.push(entry);
      }
    }
    return out;
  }

  private toLive(
    queue: string,
    id: string,
    raw: string,
    rawState: string | undefined,
    prior: LiveEntry | undefined,
  ): LiveEntry | undefined {
    try {
      const state = parseState(rawState);
      if (!state) throw new CorruptEntryError(id, queue, `its fire state is ${JSON.stringify(rawState ?? null)}`);
      let definition: EntryDefinition;
      let schedule: Schedule;
      let message: LiveEntry['message'];
      if (prior && prior.raw === raw) {
        ({ definition, schedule, message } = prior);
      } else {
        ({ definition, schedule } = decodeDefinition(id, queue, raw));
        message = fireMessageBuilder(definition);
      }
      const floor = prior && prior.rev === String(state.rev) ? Math.max(prior.floor, state.floor) : state.floor;
      return {
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
      };
    } catch (err) {
      const report = `${entryKey(queue, id)}\u0000${raw}\u0000${rawState ?? ''}`;
      if (!this.reportedCorrupt.has(report)) {
        this.reportedCorrupt.add(report);
        this.reportCorrupt(`skipping periodic entry: ${(err as Error).message}`);
      }
      return undefined;
    }
  }
}
