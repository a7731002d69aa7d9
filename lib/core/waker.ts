import { bounded } from './bounded.js';
import { parseHandoff, type Handoff } from './broker/handoff.js';
import { RedisBroker } from './broker/redis-broker.js';
import type { Clock } from './clock.js';
import { closeClient, duplicate, isCluster, type RedisClient } from './connection.js';
import { toError } from './errors.js';

/**
 * What woke an idle worker: `p`, pending work appeared; `d`, a due time earlier than any known one; `h`, a task was
 * handed to this worker (given to `onHandoff` already).
 */
export type WakeMarker = { queue: string; kind: 'p' | 'd' } | { queue: string; kind: 'h'; handoff: Handoff };

/** What the {@link Waker} needs from its worker. */
export interface WakerOptions {
  /** Identifies the worker in idle registrations and in its own wake key. */
  workerId: string;
  /** The worker's lease duration: a task handed to it is leased this long. */
  leaseMs: number;
  clock: Clock;
  /**
   * Called with every task handed to the worker, from the BZPOPMIN reply's callback (so its handler starts with nothing
   * in between), whether or not the worker was waiting: on a cluster another queue may have woken it first, and on
   * shutdown nobody waits any more. Returns true when the worker has a slot left for another one (it stays registered).
   */
  onHandoff: (queue: string, handoff: Handoff) => boolean;
  onError: (err: Error) => void;
}

interface BlockingGroup {
  /** The broker on this group's own blocking connection. */
  broker: RedisBroker;
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
 * the worker is registered on its queues, so an enqueue into an empty queue leases the task to it and puts the task
 * itself in the wake key: the BZPOPMIN reply starts the handler with no further round trip. One blocking
 * connection covers every queue on a standalone server; on a cluster (queues in different slots) each queue gets its
 * own.
 */
export class Waker {
  private readonly groups: BlockingGroup[];
  private readonly member: string;
  private closed = false;
  private waiter?: (marker: WakeMarker | undefined) => void;
  /** Markers that arrived while nobody waited (cluster: another group woke the worker first). */
  private readonly kept: WakeMarker[] = [];
  private errorBackoffMs = 0;

  constructor(
    client: RedisClient,
    private readonly broker: RedisBroker,
    queues: string[],
    private readonly options: WakerOptions,
  ) {
    this.member = `${Math.max(1, Math.round(options.leaseMs))}:${options.workerId}`;
    const sets = isCluster(client) ? queues.map((q) => [q]) : [queues];
    this.groups = sets.map((set, i) => {
      const blocking = duplicate(client, `taskq:worker:wake:${i}`);
      blocking.on('error', (err: Error) => {
        if (!this.closed) options.onError(err);
      });
      const ownKey = broker.keys(set[0]).ownWake(options.workerId);
      const wakeKeys = set.map((q) => broker.keys(q).wake);
      return {
        broker: new RedisBroker(blocking, broker.prefix),
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
    const now = this.options.clock.now();
    if (g.registeredUntil - now < REJOIN_BEFORE_MS) {
      g.registeredUntil = now + timeoutMs;
      for (const queue of g.queues) {
        g.broker.joinIdle(queue, this.member, g.registeredUntil).catch((err: unknown) => this.report(err));
      }
    }
    g.blocked = g.broker.popWake(g.keys, Math.min(timeoutMs, g.registeredUntil - now)).then(
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
        // A hand-off's handler starts right here, in the reply's callback; after it the worker stays idle (and
        // registered) if it has a slot left.
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
    for (const queue of g.queues) g.broker.leaveIdle(queue, this.member).catch((err: unknown) => this.report(err));
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
    const slotLeft = marker?.kind === 'h' ? this.options.onHandoff(marker.queue, marker.handoff) : false;
    if (waiter) {
      this.waiter = undefined;
      waiter(marker);
    } else if (marker && marker.kind !== 'h' && !this.kept.some((k) => k.queue === marker.queue && k.kind === marker.kind)) {
      this.kept.push(marker);
    }
    return slotLeft && waiter !== undefined;
  }

  private async leaveForGood(): Promise<void> {
    const queues = this.groups.flatMap((g) => g.queues);
    await Promise.all(queues.map((q) => this.broker.leaveIdle(q, this.member)));
    const blocked = this.groups.filter((g) => g.blocked);
    await Promise.all(blocked.map((g) => this.broker.wakeOwn(g.ownKey)));
    await Promise.all(blocked.map((g) => g.blocked));
    await Promise.all(blocked.map((g) => this.broker.clearOwnWake(g.ownKey)));
  }

  private report(err: unknown): void {
    if (!this.closed) this.options.onError(toError(err));
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
    if (this.broker.client.status === 'ready') await bounded(this.leaveForGood(), graceMs);
    // A blocked connection cannot QUIT until its command returns: disconnect at once.
    await Promise.all(this.groups.map(async (g) => g.client.disconnect()));
    await Promise.all(this.groups.map((g) => closeClient(g.client)));
  }
}
