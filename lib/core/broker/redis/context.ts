import { counterDay } from '../retention.js';
import { GlobalKeys, QueueKeys } from './keys.js';
import type { RedisClient } from './connection.js';
import { ScriptRunner } from './scripts.js';

/**
 * What every part of the Redis broker shares: the command connection, the key prefix, the key cache and the script
 * runner. One per broker; the parts (producer-ops.ts, worker-ops.ts, inspect-ops.ts, periodic-ops.ts) hold it.
 */
export class RedisContext {
  readonly global: GlobalKeys;
  readonly scripts: ScriptRunner;
  private readonly keysByQueue = new Map<string, QueueKeys>();

  constructor(
    readonly client: RedisClient,
    readonly prefix: string,
  ) {
    this.global = new GlobalKeys(prefix);
    this.scripts = new ScriptRunner(client);
  }

  /** The keys of `queue` (cached). */
  keys(queue: string): QueueKeys {
    let keys = this.keysByQueue.get(queue);
    if (!keys) {
      keys = new QueueKeys(this.prefix, queue);
      this.keysByQueue.set(queue, keys);
    }
    return keys;
  }

  /** The UTC day of `now` and when a daily counter created now expires (90 days after that day began). */
  day(now: number): { day: string; expireAt: number } {
    return counterDay(now);
  }
}
