import type { BrokerLifecycle } from './broker/broker.js';
import { systemClock } from './clock.js';
import { RedisUnavailableError } from './errors.js';
import { startTimer, type Timer } from './timers.js';

/**
 * Bounds a producer's calls by the enqueue timeout, so an HTTP route that enqueues never hangs on a Redis that is down
 * (workers, on their own connections, wait as long as it takes). Two cases, told apart by the error's
 * `mayHaveWritten`:
 * - the connection is not up: the call waits for it, and is never sent if it does not come up in time (nothing was
 *   written);
 * - the call was sent but no reply came in time (a frozen or overloaded Redis): it rejects, and Redis may still carry
 *   it out later (ioredis re-sends commands that got no reply after a reconnect).
 */
export class ProducerBound {
  constructor(
    private readonly broker: Pick<BrokerLifecycle, 'isReady' | 'whenReady' | 'address'>,
    /** undefined: no bound. */
    private readonly timeoutMs: number | undefined,
  ) {}

  /** Runs `send` once the connection is up; rejects with RedisUnavailableError when Redis does not answer in time. */
  async run<T>(send: () => Promise<T>): Promise<T> {
    const limit = this.timeoutMs;
    if (limit === undefined) return send();
    const started = Date.now();
    if (!this.broker.isReady && !(await this.broker.whenReady(limit))) {
      throw new RedisUnavailableError(
        this.broker.address,
        `Redis at ${this.broker.address} did not answer within ${limit} ms (enqueueTimeout); nothing was sent`,
      );
    }
    const left = Math.max(1, limit - (Date.now() - started));
    let timer: Timer | undefined;
    try {
      return await Promise.race([
        send(),
        new Promise<never>((_, reject) => {
          timer = startTimer(systemClock, left, () =>
            reject(
              new RedisUnavailableError(
                this.broker.address,
                `Redis at ${this.broker.address} did not answer within ${limit} ms (enqueueTimeout); the command was ` +
                  'sent and may still be carried out (retry with the same taskId to be safe)',
                { mayHaveWritten: true },
              ),
            ),
          );
        }),
      ]);
    } finally {
      timer?.clear();
    }
  }
}
