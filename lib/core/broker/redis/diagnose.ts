import { CorruptQueueError } from '../../errors.js';
import type { RedisContext } from './context.js';
import { QUEUE_KEY_TYPES } from './keys.js';

/**
 * Turns a Redis error of a queue's operation into the typed error that names the broken key. A script fails with
 * `WRONGTYPE` when a key of the queue holds the wrong kind of value, without saying which key: one TYPE per key (a
 * pipeline, only on this error path) finds it. Other errors are returned as they are.
 */
export async function diagnose(ctx: RedisContext, queue: string, err: unknown): Promise<unknown> {
  if (!(err instanceof Error) || !/WRONGTYPE/.test(err.message)) return err;
  const k = ctx.keys(queue);
  const names = Object.keys(QUEUE_KEY_TYPES) as (keyof typeof QUEUE_KEY_TYPES)[];
  try {
    const pipeline = ctx.client.pipeline();
    for (const name of names) pipeline.type(k[name]);
    const replies = (await pipeline.exec()) ?? [];
    for (let i = 0; i < names.length; i++) {
      const actual = replies[i]?.[1];
      const expected = QUEUE_KEY_TYPES[names[i]];
      if (typeof actual === 'string' && actual !== 'none' && actual !== expected) {
        return new CorruptQueueError(queue, k[names[i]], expected, actual, { cause: err });
      }
    }
  } catch {
    // The diagnosis is best effort: the original error stands.
  }
  return err;
}

/** Runs a queue's operation, rethrowing a `WRONGTYPE` failure as the CorruptQueueError that names the key. */
export async function withDiagnosis<T>(ctx: RedisContext, queue: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw await diagnose(ctx, queue, err);
  }
}
