import type { Redis } from 'ioredis';
import { bounded } from '../../bounded.js';
import { toError } from '../../errors.js';
import type { WakeMarker, WakeSource, WakeSourceParams } from '../broker.js';
import { closeClient, duplicate, isCluster, type RedisClient } from './connection.js';
import type { RedisContext } from './context.js';
import { parseHandoff } from './handoff.js';

interface BlockingGroup {
  /** This group's own blocking connection. */
  client: RedisClient;
  queues: string[];
  /** The worker's own wake key first, then the queues' wake keys. */
  keys: string[];
  ownKey: string;
  queueByKey: Map<string, string>;
  /** The BZPOPMIN in flight. */
  blocked?: Promise<void>;
  /** Until when this worker's registrations on the group's queues last (0: not registered). */
  registeredUntil: number;
}

const ERROR_BACKOFF_MAX_MS = 5_000;
/** A registration with less than this left is renewed before the next block. */
const REJOIN_BEFORE_MS = 1_000;

/**
 * Blocks on the wake keys of a worker's queues (BZPOPMIN), so an idle worker costs one command per timeout. While idle
 * the worker is registered on its queues (`idle`: `<leaseMs>:<workerId>` → expiry), so an enqueue into an empty queue
 * leases the task to it and puts the task itself in the wake key: the BZPOPMIN reply starts the handler with no
 * further round trip. One blocking connection covers every queue on a standalone server; on a cluster (queues in
 * different slots) each queue gets its own.
 */
export class RedisWakeSource implements WakeSource {
  private readonly groups: BlockingGroup[];
  private readonly member: string;
  private closed = false;
  private waiter?: (marker: WakeMarker | undefined) => void;
  /** Markers that arrived while nobody waited (cluster: another group woke the worker first). */
  private readonly kept: WakeMarker[] = [];
  private errorBackoffMs = 0;

  constructor(
    private readonly ctx: RedisContext,
    queues: string[],
    private readonly params: WakeSourceParams,
  ) {
    this.member = `${Math.max(1, Math.round(params.leaseMs))}:${params.workerId}`;
    const sets = isCluster(ctx.client) ? queues.map((q) => [q]) : [queues];
    this.groups = sets.map((set, i) => {
      const blocking = duplicate(ctx.client, `taskq:worker:wake:${i}`);
      blocking.on('error', (err: Error) => {
        if (!this.closed) params.onError(err);
      });
      const ownKey = ctx.keys(set[0]).ownWake(params.workerId);
      const wakeKeys = set.map((q) => ctx.keys(q).wake);
      return {
        client: blocking,
        queues: set,
        keys: [ownKey, ...wakeKeys],
        ownKey,
        queueByKey: new Map(set.map((q, j) => [wakeKeys[j], q])),
        registeredUntil: 0,
      };
    });
  }

  /**
   * Waits until something wakes the worker or `timeoutMs` passes (undefined). Only one wait at a time. A BZPOPMIN still
   * blocked when another group woke the worker keeps blocking (its idle registration stays true) and serves the next
   * wait; a marker it returns while nobody waits is kept for the next wait (a task goes to `onHandoff` in any case).
   */
  wait(timeoutMs: number): Promise<WakeMarker | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const kept = this.kept.shift();
    if (kept) return Promise.resolve(kept);
    for (const g of this.groups) if (!g.blocked) this.block(g, timeoutMs);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /**
   * Blocks one group. The registration is written (on the blocking connection, right ahead of the BZPOPMIN) only when
   * the worker is not registered or the registration is about to lapse, and the block never outlasts it: a worker that
   * stays idle, handed one task after another, sends one BZPOPMIN per task and nothing else.
   */
  private block(g: BlockingGroup, timeoutMs: number): void {
    const now = this.params.clock.now();
    if (g.registeredUntil - now < REJOIN_BEFORE_MS) {
      g.registeredUntil = now + timeoutMs;
      // A plain ZADD; the janitor drops registrations that lapsed.
      for (const queue of g.queues) {
        g.client
          .zadd(this.ctx.keys(queue).idle, g.registeredUntil, this.member)
          .catch((err: unknown) => this.report(err));
      }
    }
    const seconds = Math.max(0.01, Math.min(timeoutMs, g.registeredUntil - now) / 1000).toFixed(3);
    // The raw reply on purpose: a hand-off starts its handler from this reply's callback, so nothing sits in between.
    const popped = (g.client as Redis).bzpopmin(...g.keys, seconds) as Promise<[string, string] | null>;
    g.blocked = popped.then(
      (reply) => {
        g.blocked = undefined;
        this.errorBackoffMs = 0;
        if (!reply || reply[0] === g.ownKey) {
          // Timed out: the registration lapsed with the block.
          if (!reply) g.registeredUntil = 0;
          this.deliver(undefined);
          return;
        }
        const marker = this.toMarker(g, reply[0], reply[1]);
        // A hand-off's handler starts right here; after it the worker stays idle (and registered) if it has a slot left.
        const stillIdle = this.deliver(marker);
        if (!stillIdle) this.leave(g);
      },
      (err: unknown) => {
        g.blocked = undefined;
        g.registeredUntil = 0;
        if (this.closed) {
          this.deliver(undefined);
          return;
        }
        this.report(err);
        // Back off before the worker looks again, so a persistent error (ACL, wrong key type) is no busy loop.
        this.errorBackoffMs = Math.min(ERROR_BACKOFF_MAX_MS, this.errorBackoffMs === 0 ? 100 : this.errorBackoffMs * 2);
        setTimeout(() => this.deliver(undefined), this.errorBackoffMs).unref();
      },
    );
  }

  /**
   * A worker is registered only while it is idle: woken for other work (a marker), or out of free slots after a
   * hand-off, it leaves at once. Sent on the blocking connection, so it cannot overtake the next registration.
   */
  private leave(g: BlockingGroup): void {
    g.registeredUntil = 0;
    for (const queue of g.queues) {
      g.client.zrem(this.ctx.keys(queue).idle, this.member).catch((err: unknown) => this.report(err));
    }
  }

  private toMarker(g: BlockingGroup, key: string, member: string): WakeMarker {
    const queue = g.queueByKey.get(key) ?? g.queues[0];
    if (member === 'p' || member === 'd') return { queue, kind: member };
    const handoff = parseHandoff(member);
    if (handoff) return { queue, kind: 'h', handoff };
    this.report(new Error(`ignored a malformed member of the wake key of queue "${queue}": ${member.slice(0, 80)}`));
    // Something woke the worker all the same: look at the queues.
    return { queue, kind: 'p' };
  }

  /**
   * Hands a task to the worker at once (whether or not it waits), then ends the wait or keeps the marker for the next.
   * True when the worker stays idle: it was waiting, was handed a task and has a slot left.
   */
  private deliver(marker: WakeMarker | undefined): boolean {
    const waiter = this.waiter;
    const slotLeft = marker?.kind === 'h' ? this.params.onHandoff(marker.queue, marker.handoff) : false;
    if (waiter) {
      this.waiter = undefined;
      waiter(marker);
    } else if (
      marker &&
      marker.kind !== 'h' &&
      !this.kept.some((k) => k.queue === marker.queue && k.kind === marker.kind)
    ) {
      this.kept.push(marker);
    }
    return slotLeft && waiter !== undefined;
  }

  /**
   * Leaves every idle registration, then ends this worker's own blocked BZPOPMINs by writing to its own wake key
   * (expiring in a minute in case the worker dies before deleting it).
   */
  private async leaveForGood(): Promise<void> {
    const { client } = this.ctx;
    await Promise.all(this.groups.flatMap((g) => g.queues).map((q) => client.zrem(this.ctx.keys(q).idle, this.member)));
    const blocked = this.groups.filter((g) => g.blocked);
    await Promise.all(
      blocked.map(async (g) => {
        const replies = (await client.pipeline().zadd(g.ownKey, 0, 'x').pexpire(g.ownKey, 60_000).exec()) ?? [];
        for (const [err] of replies) if (err) throw err;
      }),
    );
    await Promise.all(blocked.map((g) => g.blocked));
    await Promise.all(blocked.map((g) => client.del(g.ownKey)));
  }

  private report(err: unknown): void {
    if (!this.closed) this.params.onError(toError(err));
  }

  /**
   * Stops waiting: leaves the idle registrations (no more hand-offs to this worker), then ends its own blocked
   * BZPOPMINs by writing to its own wake key, so a hand-off popped in the same instant still arrives (through
   * `onHandoff`) instead of being dropped with the connection. All of it is bounded by `graceMs` and skipped while Redis
   * is unreachable; then the blocking connections are closed.
   */
  async close(graceMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.deliver(undefined);
    // With Redis unreachable nothing can be handed over either: skip straight to closing.
    if (this.ctx.client.status === 'ready') await bounded(this.leaveForGood(), graceMs);
    // A blocked connection cannot QUIT until its command returns: disconnect at once.
    await Promise.all(this.groups.map(async (g) => g.client.disconnect()));
    await Promise.all(this.groups.map((g) => closeClient(g.client)));
  }
}
