import type { DoneMessage, NotificationOps, ProducerOps, StoredTask } from './broker/broker.js';
import { parseOptionalDuration, type Duration } from './duration.js';
import { ClosedError, TaskFailedError, TaskNotFoundError, TaskTimeoutError } from './errors.js';
import type { Clock } from './clock.js';
import type { PayloadCodec } from './payload-codec.js';
import { toTaskInfo } from './task-info.js';
import { startTimer, type Timer } from './timers.js';

/** Options for waiting on a task's result. */
export interface WaitOptions {
  /** The task's queue. @defaultValue `'default'` */
  queue?: string;
  /** Give up after this long with TaskTimeoutError. @defaultValue wait forever */
  timeout?: Duration;
  /** Stop waiting when aborted (rejects with the signal's reason). @defaultValue none */
  signal?: AbortSignal;
}

interface Waiter {
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

/** What the waiter needs. */
export interface ResultWaiterParams {
  broker: Pick<ProducerOps, 'task' | 'addWaiter' | 'removeWaiter'>;
  notify: Pick<NotificationOps, 'subscribeDone' | 'onResubscribed'>;
  codec: PayloadCodec;
  clock: Clock;
}

const keyOf = (queue: string, id: string): string => `${queue}\0${id}`;

/**
 * Waits for task results. Finishing an awaited task publishes on its queue's done channel (the finalize scripts do),
 * so waiting is notified, not polled. After a reconnect (notifications sent meanwhile are lost), every awaited task
 * is read once again.
 */
export class ResultWaiter {
  private readonly subscribed = new Map<string, Promise<void>>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closed = false;

  constructor(private readonly params: ResultWaiterParams) {
    params.notify.onResubscribed(() => void this.recheckAll());
  }

  /** Subscribes to the queue's done channel (once per queue); resolves once the subscription is active. */
  subscribe(queue: string): Promise<void> {
    let subscribed = this.subscribed.get(queue);
    if (!subscribed) {
      subscribed = this.params.notify.subscribeDone(queue, (m) => this.onDone(queue, m));
      this.subscribed.set(queue, subscribed);
      subscribed.catch(() => this.subscribed.delete(queue));
    }
    return subscribed;
  }

  /** A promise for the result of `queue`/`id`. `registered`: the caller registered the waiter in the store itself. */
  await<R>(queue: string, id: string, options: Omit<WaitOptions, 'queue'>, registered: boolean): Promise<R> {
    const timeoutMs = parseOptionalDuration(options.timeout, 'timeout');
    const key = keyOf(queue, id);
    return new Promise<R>((resolve, reject) => {
      let timer: Timer | undefined;
      const cleanup = (): void => {
        timer?.clear();
        options.signal?.removeEventListener('abort', onAbort);
        const set = this.waiters.get(key);
        set?.delete(waiter);
        if (set && set.size === 0) this.waiters.delete(key);
      };
      const giveUp = (err: unknown): void => {
        cleanup();
        // An enqueueAndWait registered its waiter in the enqueue script: drop it too, unless the connection is gone.
        if (registered || !this.closed) void this.params.broker.removeWaiter(queue, id).catch(() => undefined);
        reject(err);
      };
      const waiter: Waiter = {
        resolve: (r) => {
          cleanup();
          resolve(r as R);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const onAbort = (): void => giveUp(options.signal?.reason ?? new Error('aborted'));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = startTimer(this.params.clock, timeoutMs, () =>
          giveUp(new TaskTimeoutError(`no result for task "${id}" within ${timeoutMs} ms`)),
        );
      }
      const set = this.waiters.get(key);
      if (set) set.add(waiter);
      else this.waiters.set(key, new Set([waiter]));
    });
  }

  /** Settles the waiters of a task from its stored state, if it finished; rejects them when it does not exist. */
  settleFromStore(queue: string, id: string, stored: StoredTask | undefined): void {
    if (!stored) {
      this.reject(queue, id, new TaskNotFoundError(id, queue));
      return;
    }
    if (stored.state !== 'completed' && stored.state !== 'archived') return;
    const info = toTaskInfo(queue, id, stored, this.params.codec);
    if (stored.state === 'completed') this.settle(queue, { id, state: 'completed', data: info.result });
    else this.settle(queue, { id, state: 'archived', data: info.lastError ?? 'archived' });
  }

  /** Rejects every waiter of a task. */
  reject(queue: string, id: string, err: unknown): void {
    const set = this.waiters.get(keyOf(queue, id));
    if (set) for (const w of [...set]) w.reject(err);
  }

  /** Rejects every pending wait with ClosedError (the client closes). */
  close(what: string): void {
    this.closed = true;
    for (const [key, set] of this.waiters) {
      for (const w of set) w.reject(new ClosedError(what));
      this.waiters.delete(key);
    }
  }

  private onDone(queue: string, message: DoneMessage): void {
    this.settle(queue, message);
  }

  private settle(queue: string, { id, state, data }: DoneMessage): void {
    const set = this.waiters.get(keyOf(queue, id));
    if (!set) return;
    for (const w of [...set]) {
      if (state === 'completed') w.resolve(data);
      else w.reject(new TaskFailedError(id, typeof data === 'string' ? data : 'archived'));
    }
  }

  private async recheckAll(): Promise<void> {
    for (const key of [...this.waiters.keys()]) {
      const [queue, id] = key.split('\0');
      try {
        // Awaited tasks keep their result for a grace period, so a missing task is really gone.
        this.settleFromStore(queue, id, await this.params.broker.task(queue, id));
      } catch {
        // still disconnected; the next reconnect re-checks
      }
    }
  }
}
