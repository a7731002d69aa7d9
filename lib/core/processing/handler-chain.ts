import { encodeMessage } from '../broker/codec.js';
import { LeaseLostError } from '../errors.js';
import type { TaskHandlerFn } from '../task.js';
import type { Run } from './running-tasks.js';

/** Stores a run's new message, fenced on its lease; false when the lease was lost. */
export type Checkpoint = (run: Run, message: string) => Promise<boolean>;

/**
 * Runs the handlers of a handler chain (TaskWorker.handle(type, h1, h2, h3)) in order: handler k receives handler
 * k-1's output as `task.previous` (the first receives the task's own `previous`). After each handler but the last its
 * output is checkpointed on the task, so a retry or a crash resumes at the next handler: a handler that finished is
 * never run again for this task. Resolves with the last handler's output (the task's result).
 */
export async function runHandlerChain(
  run: Run,
  handlers: readonly TaskHandlerFn[],
  checkpoint: Checkpoint,
): Promise<unknown> {
  const saved = run.message.checkpoint;
  let step = saved === undefined ? 0 : saved.step + 1;
  let previous = saved === undefined ? run.message.previous : saved.output;
  for (; step < handlers.length; step++) {
    run.task.previous = previous;
    const output = await handlers[step](run.task);
    if (step < handlers.length - 1) {
      if (run.settled) return output;
      // A value that cannot be stored cannot be resumed from: fail the attempt (the handler before stays done).
      const stored = output === undefined ? undefined : (JSON.parse(JSON.stringify(output) ?? 'null') as unknown);
      const message = { ...run.message, checkpoint: { step, output: stored } };
      if (!(await checkpoint(run, encodeMessage(message)))) throw new LeaseLostError(run.id);
      run.message = message;
    }
    previous = output;
  }
  return previous;
}
