import type { Redis } from 'ioredis';
import type { DoneMessage, NotificationOps } from '../broker.js';
import { closeClient, duplicate, type RedisClient } from './connection.js';
import type { RedisContext } from './context.js';

type Handler = (message: string) => void;

/**
 * Cross-process notifications over Redis pub/sub, on one subscriber connection per broker, created on first use:
 * cancels of active tasks (`<prefix>:cancel`), awaited tasks that finished (`<prefix>:{<queue>}:done`, published by the
 * finalize scripts), periodic entries that changed (`<prefix>:cron:changed`).
 */
export class RedisNotifications implements NotificationOps {
  private subscriber?: RedisClient;
  private readonly handlers = new Map<string, Handler[]>();
  private readonly subscribed = new Map<string, Promise<unknown>>();
  private readonly resubscribed: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly ctx: RedisContext,
    /** The connection's name (CLIENT LIST), e.g. `taskq:worker:sub`. */
    private readonly name: string,
    private readonly onError: (err: Error) => void,
  ) {}

  subscribeCancel(listener: (queue: string, id: string) => void): Promise<void> {
    return this.subscribe(this.ctx.global.cancel, (message) => {
      const parsed: unknown = JSON.parse(message);
      if (Array.isArray(parsed) && typeof parsed[0] === 'string' && typeof parsed[1] === 'string')
        listener(parsed[0], parsed[1]);
    });
  }

  subscribeDone(queue: string, listener: (message: DoneMessage) => void): Promise<void> {
    return this.subscribe(this.ctx.keys(queue).done, (message) => {
      const parsed: unknown = JSON.parse(message);
      if (!Array.isArray(parsed) || parsed.length < 3 || typeof parsed[0] !== 'string') return;
      const state = parsed[1] === 'completed' ? 'completed' : 'archived';
      listener({ id: parsed[0], state, data: parsed[2] });
    });
  }

  subscribeCronChange(listener: () => void): Promise<void> {
    return this.subscribe(this.ctx.global.cronChanged, () => listener());
  }

  subscribeWorkflowDone(listener: (id: string, state: string) => void): Promise<void> {
    return this.subscribe(this.ctx.global.workflowDone, (message) => {
      const parsed: unknown = JSON.parse(message);
      if (Array.isArray(parsed) && typeof parsed[0] === 'string' && typeof parsed[1] === 'string')
        listener(parsed[0], parsed[1]);
    });
  }

  onResubscribed(listener: () => void): void {
    this.resubscribed.push(listener);
  }

  /** Closes the subscriber connection (always the broker's own). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.subscriber) await closeClient(this.subscriber);
  }

  private async subscribe(channel: string, handler: Handler): Promise<void> {
    const list = this.handlers.get(channel);
    if (list) list.push(handler);
    else this.handlers.set(channel, [handler]);
    let subscribed = this.subscribed.get(channel);
    if (!subscribed) {
      subscribed = (this.connection() as Redis).subscribe(channel);
      this.subscribed.set(channel, subscribed);
      subscribed.catch(() => this.subscribed.delete(channel));
    }
    await subscribed;
  }

  private connection(): RedisClient {
    if (this.subscriber) return this.subscriber;
    const sub = duplicate(this.ctx.client, this.name);
    sub.on('error', (err: Error) => {
      if (!this.closed) this.onError(err);
    });
    sub.on('message', (channel: string, message: string) => {
      for (const handler of this.handlers.get(channel) ?? []) {
        try {
          handler(message);
        } catch (err) {
          // A malformed message (written by hand or by another version) is dropped; the others still arrive.
          this.onError(new Error(`ignored a malformed message on ${channel}: ${(err as Error).message}`));
        }
      }
    });
    let first = true;
    sub.on('ready', () => {
      // Messages published while disconnected are lost. The PING answers only after ioredis re-subscribed, so nothing
      // published after the listeners' re-read is missed.
      if (!first) {
        void (sub as Redis)
          .ping()
          .catch(() => undefined)
          .then(() => {
            for (const listener of this.resubscribed) listener();
          });
      }
      first = false;
    });
    this.subscriber = sub;
    return sub;
  }
}
