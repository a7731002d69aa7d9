import type { ArchiveItem, CompleteItem, RetryItem, WorkerOps } from '../broker/broker.js';
import type { Clock } from '../clock.js';
import { toError } from '../errors.js';

/** Something whose lease score may move (heartbeats) until the acknowledgement is sent. */
export interface LeaseHolder {
  readonly id: string;
  leaseScore: string;
}

type Outcome<T> = { holder: LeaseHolder; item: Omit<T, 'leaseScore'> };

interface QueueBuffer {
  complete: Outcome<CompleteItem>[];
  retry: Outcome<RetryItem>[];
  archive: Outcome<ArchiveItem>[];
}

/** What the acker needs. */
export interface AckerParams {
  broker: Pick<WorkerOps, 'complete' | 'retry' | 'archive'>;
  clock: Clock;
  leaseMs: number;
  /** Ids whose lease was lost when their outcome arrived (nothing was written for them). */
  onLost: (queue: string, ids: string[]) => void;
  onError: (err: Error) => void;
  /** Relay entries of workflow tasks whose outcome was written (the workflow advances next). */
  onRelays?: (queue: string, relays: string[]) => void;
}

const RETRY_FLUSH_MS = 500;

/**
 * Batches finalize writes (complete, retry, archive): everything finished in one event-loop turn goes out as one
 * script call per queue and kind. The lease score is read when the call is sent, so a heartbeat that moved the lease
 * in between is honoured (both travel on one connection, in order).
 */
export class Acker {
  private buffers = new Map<string, QueueBuffer>();
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly p: AckerParams) {}

  complete(queue: string, holder: LeaseHolder, item: Omit<CompleteItem, 'leaseScore'>): void {
    this.buffer(queue).complete.push({ holder, item });
    this.schedule();
  }

  retry(queue: string, holder: LeaseHolder, item: Omit<RetryItem, 'leaseScore'>): void {
    this.buffer(queue).retry.push({ holder, item });
    this.schedule();
  }

  archive(queue: string, holder: LeaseHolder, item: Omit<ArchiveItem, 'leaseScore'>): void {
    this.buffer(queue).archive.push({ holder, item });
    this.schedule();
  }

  /** Sends everything buffered now. */
  flushNow(): void {
    const buffers = this.buffers;
    this.buffers = new Map();
    for (const [queue, b] of buffers) {
      if (b.complete.length > 0) this.send(queue, 'complete', b.complete);
      if (b.retry.length > 0) this.send(queue, 'retry', b.retry);
      if (b.archive.length > 0) this.send(queue, 'archive', b.archive);
    }
  }

  /** Flushes and waits until every acknowledgement sent so far has its reply. */
  async drain(): Promise<void> {
    this.flushNow();
    while (this.inFlight.size > 0) {
      await Promise.all([...this.inFlight]);
      this.flushNow();
    }
  }

  private buffer(queue: string): QueueBuffer {
    let b = this.buffers.get(queue);
    if (!b) {
      b = { complete: [], retry: [], archive: [] };
      this.buffers.set(queue, b);
    }
    return b;
  }

  private schedule(delay = 0): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      this.flushNow();
    };
    if (delay > 0) setTimeout(run, delay).unref();
    else setImmediate(run);
  }

  private send<K extends keyof QueueBuffer>(queue: string, kind: K, entries: QueueBuffer[K]): void {
    const now = this.p.clock.now();
    const call = this.call(queue, kind, entries, now);
    const done = call.then(
      (lost) => {
        if (lost.length > 0) this.p.onLost(queue, lost);
        if (this.p.onRelays) {
          const lostIds = lost.length > 0 ? new Set(lost) : undefined;
          const relays: string[] = [];
          for (const e of entries as Outcome<{ relay?: string }>[]) {
            if (e.item.relay && !lostIds?.has(e.holder.id)) relays.push(e.item.relay);
          }
          if (relays.length > 0) this.p.onRelays(queue, relays);
        }
      },
      (err: unknown) => {
        this.p.onError(toError(err));
        // Keep trying while the lease could still be ours (its score is its expiry); after that the recoverer owns
        // the task.
        const keep = (entries as Outcome<unknown>[]).filter((e) => Number(e.holder.leaseScore) > this.p.clock.now());
        (this.buffer(queue)[kind] as Outcome<unknown>[]).push(...keep);
        if (keep.length > 0) this.schedule(Math.min(RETRY_FLUSH_MS, this.p.leaseMs / 4));
      },
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  private call(queue: string, kind: keyof QueueBuffer, entries: Outcome<unknown>[], now: number): Promise<string[]> {
    // The items are the acker's own (built for it by the runner): stamp the score read now on them, no copy.
    const withScores = entries.map((e) => {
      const item = e.item as { leaseScore?: string };
      item.leaseScore = e.holder.leaseScore;
      return item;
    });
    if (kind === 'complete') return this.p.broker.complete(queue, withScores as CompleteItem[], now);
    if (kind === 'retry') return this.p.broker.retry(queue, withScores as RetryItem[], now);
    return this.p.broker.archive(queue, withScores as ArchiveItem[], now);
  }
}
