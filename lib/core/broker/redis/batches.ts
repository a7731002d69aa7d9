/**
 * Largest batch one script call carries. Lua's unpack() refuses more than ~8,000 values and the scripts unpack up to
 * two per task (field and value, score and member), so a worker of concurrency 10,000 finishing every task in one
 * turn must not become one call.
 */
export const MAX_SCRIPT_BATCH = 1000;

/**
 * Runs `call` on `items` in slices of at most {@link MAX_SCRIPT_BATCH} and joins the replies in order. The slices
 * are sent at once: ioredis writes them back to back on one connection, so they still travel as one round trip.
 */
export async function inScriptBatches<T, R>(items: readonly T[], call: (slice: T[]) => Promise<R[]>): Promise<R[]> {
  if (items.length <= MAX_SCRIPT_BATCH) return call(items as T[]);
  const slices: Promise<R[]>[] = [];
  for (let start = 0; start < items.length; start += MAX_SCRIPT_BATCH) {
    slices.push(call(items.slice(start, start + MAX_SCRIPT_BATCH)));
  }
  return (await Promise.all(slices)).flat();
}
