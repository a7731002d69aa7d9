/**
 * Polls `probe` until it returns a truthy value (returned) or `timeoutMs` passes (throws with `what`).
 * Used where no event exists to await; the poll interval is short so tests stay fast.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 10,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A promise with its resolve/reject exposed, for awaiting events in tests. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Something that reads tasks back (TaskClient, TaskInspector). */
interface TaskReader<T extends { state: string }> {
  getTask(id: string, queue?: string): Promise<T | null>;
}

/** Waits until task `id` reaches `state` and returns it; the timeout message shows the last state seen. */
export async function waitForTaskState<T extends { state: string }>(
  reader: TaskReader<T>,
  id: string,
  state: T['state'],
  timeoutMs = 5000,
  queue = 'default',
): Promise<T> {
  let last: T | null = null;
  return waitFor(
    async () => {
      last = await reader.getTask(id, queue);
      return last?.state === state ? last : undefined;
    },
    `task ${id} to be ${state} (last seen: ${JSON.stringify(last)})`,
    timeoutMs,
  );
}
