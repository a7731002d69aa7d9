import type { Redis } from 'ioredis';
import { closeClient, duplicate, isCluster, type RedisClient } from './connection.js';
import type { QueueKeys } from './broker/keys.js';

/** A wake-up marker popped from a queue's wake key. */
export interface WakeMarker {
  queue: string;
  /** `p`: pending work appeared; `d`: a due time earlier than any known one. */
  kind: string;
}

interface BlockingGroup {
  client: RedisClient;
  keys: string[];
  queueByKey: Map<string, string>;
  pending?: Promise<WakeMarker | undefined>;
}

/**
 * Blocks on the wake-up markers of a worker's queues (BZPOPMIN), so an idle worker costs one command per timeout and
 * picks work up within a round trip of its arrival. One blocking connection covers every queue on a standalone
 * server; on a cluster (queues in different slots) each queue gets its own.
 */
export class Waker {
  private readonly groups: BlockingGroup[];
  private closed = false;
  /**
   * Resolves on close(). A connection closed while it was reconnecting never rejects its queued BZPOPMIN (ioredis'
   * disconnect() only cancels the reconnect timer), so waits race this instead of relying on the rejection.
   */
  private wakeOnClose!: () => void;
  private readonly closing = new Promise<undefined>((resolve) => (this.wakeOnClose = () => resolve(undefined)));

  constructor(client: RedisClient, queues: QueueKeys[], onError: (err: Error) => void) {
    const sets = isCluster(client) ? queues.map((q) => [q]) : [queues];
    this.groups = sets.map((set, i) => {
      const blocking = duplicate(client, `taskq:worker:wake:${i}`);
      blocking.on('error', (err: Error) => {
        if (!this.closed) onError(err);
      });
      return { client: blocking, keys: set.map((q) => q.wake), queueByKey: new Map(set.map((q) => [q.wake, q.queue])) };
    });
  }

  /**
   * Waits until a marker arrives or `timeoutMs` passes (undefined). A BZPOPMIN still blocked when another group woke
   * keeps waiting and is reused by the next call. Only the winning group's reply is consumed: a group whose BZPOPMIN
   * returns while nobody waits (the worker is fetching) keeps its marker for the next call, because a popped marker
   * is gone from Redis and its queue gets no new one while tasks are pending.
   */
  async wait(timeoutMs: number): Promise<WakeMarker | undefined> {
    if (this.closed) return undefined;
    const seconds = Math.max(0.01, timeoutMs / 1000).toFixed(3);
    for (const g of this.groups) g.pending ??= this.block(g, seconds);
    const won = await Promise.race([
      this.closing,
      ...this.groups.map((g) => {
        const pending = g.pending!;
        return pending.then((marker) => ({ g, pending, marker }));
      }),
    ]);
    if (!won) return undefined;
    if (won.g.pending === won.pending) won.g.pending = undefined;
    return won.marker;
  }

  /** Starts one BZPOPMIN on a group; a failed one is forgotten at once so the next wait starts afresh. */
  private block(g: BlockingGroup, seconds: string): Promise<WakeMarker | undefined> {
    const pending: Promise<WakeMarker | undefined> = (g.client as Redis).bzpopmin(...g.keys, seconds).then(
      (reply: [string, string, string] | null): WakeMarker | undefined => {
        if (!reply || reply.length < 2) return undefined;
        return { queue: g.queueByKey.get(reply[0]) ?? '', kind: reply[1] };
      },
      (err: unknown) => {
        if (g.pending === pending) g.pending = undefined;
        if (this.closed) return undefined;
        throw err;
      },
    );
    return pending;
  }

  /** Closes the blocking connections; a pending wait resolves with undefined. */
  async close(): Promise<void> {
    this.closed = true;
    this.wakeOnClose();
    // A blocked connection cannot QUIT until its command returns: disconnect at once.
    await Promise.all(this.groups.map(async (g) => g.client.disconnect()));
    await Promise.all(this.groups.map((g) => closeClient(g.client)));
  }
}
