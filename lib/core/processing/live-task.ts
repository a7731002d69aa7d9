import type { Task } from '../task.js';

/**
 * The Task a handler receives. Its AbortController is created on first use: most handlers never look at the signal,
 * and one controller per task is a measurable share of a no-op task's cost.
 */
export class LiveTask<P = unknown> implements Task<P> {
  private controller?: AbortController;
  /** Set by the runner (a handler chain moves it from handler to handler). */
  previous?: unknown;
  /** Set by the runner for a workflow task. */
  workflowId?: string;

  constructor(
    readonly id: string,
    readonly type: string,
    readonly queue: string,
    readonly payload: P,
    readonly headers: Record<string, string>,
    readonly retried: number,
    readonly maxRetry: number,
    readonly deadline: Date | undefined,
  ) {}

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  /** Fires the signal (creating it if nobody asked for it yet, so a later reader sees it aborted). */
  abort(reason: Error): void {
    (this.controller ??= new AbortController()).abort(reason);
  }
}
