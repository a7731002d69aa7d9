import type { DoneMessage, NotificationOps } from '../broker.js';
import type { MemoryContext } from './context.js';
import type { Channels } from './store.js';

type Unsubscribe = () => void;

/**
 * Notifications in memory: the space's channels stand for Redis pub/sub (cancels, done announcements, periodic
 * changes), delivered after the operation that sent them. Nothing is ever lost to a disconnect, so `onResubscribed`
 * never fires. A listener that throws is reported as a malformed message would be, and the others still run.
 */
export class MemoryNotifications implements NotificationOps {
  private readonly subscriptions: Unsubscribe[] = [];

  constructor(
    private readonly ctx: MemoryContext,
    private readonly onError: (err: Error) => void,
  ) {}

  subscribeCancel(listener: (queue: string, id: string) => void): Promise<void> {
    return this.listen('cancel', listener);
  }

  subscribeDone(queue: string, listener: (message: DoneMessage) => void): Promise<void> {
    return this.listen('done', (q, message) => {
      if (q === queue) listener(message);
    });
  }

  subscribeCronChange(listener: () => void): Promise<void> {
    return this.listen('cron', listener);
  }

  subscribeWorkflowDone(listener: (id: string, state: string) => void): Promise<void> {
    return this.listen('workflowDone', listener);
  }

  onResubscribed(_listener: () => void): void {}

  /** Ends every subscription of this broker. */
  close(): void {
    for (const unsubscribe of this.subscriptions.splice(0)) unsubscribe();
  }

  private listen<K extends keyof Channels>(channel: K, listener: (...args: Channels[K]) => void): Promise<void> {
    return this.ctx.run(() => {
      const guarded = (...args: Channels[K]): void => {
        try {
          listener(...args);
        } catch (err) {
          this.onError(new Error(`a ${channel} listener threw: ${(err as Error).message}`));
        }
      };
      this.ctx.space.subscribe(channel, guarded);
      this.subscriptions.push(() => this.ctx.space.unsubscribe(channel, guarded));
    });
  }
}
