import type { ArchiveItem, CompleteItem, RedisBroker, RetryItem } from './broker/redis-broker.js';
import type { Clock } from './clock.js';
import { toError } from './errors.js';

/** Something whose lease score may move (heartbeats) until the acknowledgement is sent. */
export interface LeaseHolder {
  readonly id: string;
  leaseScore: string;
}

interface QueueBuffer {
  complete: { holder: LeaseHolder; item: Omit<CompleteItem, 'leaseScore'> }[];
  retry: { holder: LeaseHolder; item: Omit<RetryItem, 'leaseScore'> }[];
  archive: { holder: LeaseHolder; item: Omit<ArchiveItem, 'leaseScore'> }[];
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

  constructor(
    private readonly broker: RedisBroker,
    private readonly clock: Clock,
    private readonly onLost: (queue: string, ids: string[]) => void,
    private readonly onError: (err: Error) => void,
    private readonly leaseMs: number,
  ) {}

  private buffer(queue: string): QueueBuffer {
    let b = this.buffers.get(queue);
    if (!b) {
      b = { complete: [], retry: [], archive: [] };
      this.buffers.set(queue, b);
    }
    return b;
  }

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

  private send<K extends keyof QueueBuffer>(queue: string, kind: K, entries: QueueBuffer[K]): void {
    const now = this.clock.now();
    const withScores = entries.map((e) => ({ ...e.item, leaseScore: e.holder.leaseScore }));
    let call: Promise<string[]>;
    if (kind === 'complete') call = this.broker.complete(queue, withScores as CompleteItem[], now);
    else if (kind === 'retry') call = this.broker.retry(queue, withScores as RetryItem[], now);
    else call = this.broker.archive(queue, withScores as ArchiveItem[], now);
    const done = call.then(
      (lost) => {
        if (lost.length > 0) this.onLost(queue, lost);
      },
      (err: unknown) => {
        this.onError(toError(err));
        // Keep trying while the lease could still be ours (its score is its expiry); after that the recoverer owns
        // the task.
        const now = this.clock.now();
        const keep = (entries as { holder: LeaseHolder }[]).filter((e) => Number(e.holder.leaseScore) > now);
        const b = this.buffer(queue);
        (b[kind] as unknown[]).push(...keep);
        if (keep.length > 0) this.schedule(Math.min(RETRY_FLUSH_MS, this.leaseMs / 4));
      },
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  /** Flushes and waits until every acknowledgement sent so far has its reply. */
  async drain(): Promise<void> {
    this.flushNow();
    while (this.inFlight.size > 0) {
      await Promise.all([...this.inFlight]);
      this.flushNow();
    }
  }
}
