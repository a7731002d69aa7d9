import type { RecoverItem, WorkerOps } from '../broker/broker.js';
import { decodeMessage, encodeMessage } from '../broker/codec.js';
import type { Clock } from '../clock.js';
import { CorruptTaskError, toError } from '../errors.js';
import { startInterval, type Timer } from '../timers.js';
import { relayEntry } from '../workflow/relay.js';

/** What the recoverer needs. */
export interface RecovererParams {
  broker: Pick<WorkerOps, 'expiredLeases' | 'activeWithoutLease' | 'messages' | 'recover'>;
  queues: string[];
  clock: Clock;
  intervalMs: number;
  onError: (err: Error) => void;
}

const LEASE_EXPIRED = 'lease expired: the worker running the task stopped (crash, kill or network partition)';
const ORPHANED = 'the task was active without a lease (lost lease data); recovered';
/** Orphans (active without lease) need a full scan of the small active set: do it every few rounds only. */
const ORPHAN_SCAN_EVERY = 4;

/**
 * Reclaims the tasks of workers that died: expired leases, and active tasks without any lease. Each goes back to
 * pending at once with `retried + 1` (or to the archive when no retries are left). Any worker recovers any other's
 * tasks; the script is fenced, so racing recoverers are harmless.
 */
export class Recoverer {
  private timer?: Timer;
  private round = 0;
  private busy = false;

  constructor(private readonly p: RecovererParams) {}

  async start(): Promise<void> {
    await this.run(true);
    // No argument: every ORPHAN_SCAN_EVERY-th round also scans for orphans.
    this.timer = startInterval(this.p.clock, this.p.intervalMs, () => void this.run(), { unref: true });
  }

  /** One recovery round over every queue. */
  async run(scanOrphans = this.round % ORPHAN_SCAN_EVERY === 0): Promise<number> {
    if (this.busy) return 0;
    this.busy = true;
    this.round++;
    let total = 0;
    try {
      for (const queue of this.p.queues) total += await this.recoverQueue(queue, scanOrphans);
    } catch (err) {
      this.p.onError(toError(err));
    } finally {
      this.busy = false;
    }
    return total;
  }

  private async recoverQueue(queue: string, scanOrphans: boolean): Promise<number> {
    const now = this.p.clock.now();
    const expired = await this.p.broker.expiredLeases(queue, now);
    const orphans = scanOrphans ? await this.p.broker.activeWithoutLease(queue) : [];
    const candidates = [
      ...expired.map((e) => ({ id: e.id, seenScore: e.leaseScore, reason: LEASE_EXPIRED })),
      ...orphans.map((id) => ({ id, seenScore: '', reason: ORPHANED })),
    ];
    if (candidates.length === 0) return 0;
    const messages = await this.p.broker.messages(
      queue,
      candidates.map((c) => c.id),
    );
    const items: RecoverItem[] = [];
    candidates.forEach((c, i) => {
      const raw = messages[i];
      if (raw === undefined) return;
      try {
        const m = decodeMessage(raw);
        const noRetriesLeft = m.retried >= m.maxRetry;
        const message = encodeMessage({
          ...m,
          retried: noRetriesLeft ? m.retried : m.retried + 1,
          lastError: c.reason,
          lastFailedAt: now,
          readyAt: now,
        });
        items.push({
          id: c.id,
          seenScore: c.seenScore,
          message,
          action: noRetriesLeft ? 'archive' : 'pending',
          lastError: c.reason,
          // Archived for good: its workflow learns it from the relay (the recovery round applies it).
          relay: noRetriesLeft && m.workflow ? relayEntry(c.id, 'a', JSON.stringify(c.reason)) : undefined,
        });
      } catch (err) {
        if (!(err instanceof CorruptTaskError)) throw err;
        // Keep the raw record; a corrupt task is archived by whoever meets it.
        items.push({ id: c.id, seenScore: c.seenScore, message: raw, action: 'archive', lastError: err.message });
      }
    });
    return items.length > 0 ? this.p.broker.recover(queue, items, now) : 0;
  }

  shutdown(): void {
    this.timer?.clear();
  }
}
