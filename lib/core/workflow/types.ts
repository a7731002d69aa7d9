import type { Duration } from '../duration.js';
import type { WorkflowFailure } from '../errors.js';
import type { TaskState } from '../task.js';
import type { TaskSpec } from './flow.js';

export type { WorkflowFailure } from '../errors.js';

/** The states of a workflow. */
export type WorkflowState = 'running' | 'completed' | 'failed' | 'canceled';

/** Options of `TaskClient.enqueueWorkflow`. */
export interface WorkflowOptions {
  /**
   * A caller-chosen id (`[A-Za-z0-9_.:-]`, 1 to 100 characters); an existing id rejects with WorkflowIdConflictError.
   * @defaultValue a random id
   */
  id?: string;
  /** How long the finished workflow's record (and its tasks') are kept. @defaultValue `'24h'` */
  retention?: Duration;
  /** Enqueued once if the workflow fails; its `task.previous` is the WorkflowFailure. @defaultValue none */
  onFailure?: TaskSpec;
}

/** One task of a workflow, as getWorkflow reports it. */
export interface WorkflowTaskInfo {
  /** `<workflow id>.<index>` (`<workflow id>.F` for the onFailure task). */
  id: string;
  type: string;
  queue: string;
  /** Its task's state, or `waiting` while it was not enqueued yet. */
  state: TaskState | 'waiting';
  result?: unknown;
  lastError?: string;
}

/** A workflow, as getWorkflow reports it. */
export interface WorkflowInfo {
  id: string;
  state: WorkflowState;
  createdAt: Date;
  finishedAt?: Date;
  /** The last step's result (an array after a group), once completed. */
  result?: unknown;
  /** Which task made it fail, and why. */
  failure?: WorkflowFailure;
  /** Every task, in the order the flow lists them. */
  tasks: WorkflowTaskInfo[];
}

/** Default {@link WorkflowOptions.retention} (24 h). */
export const DEFAULT_WORKFLOW_RETENTION_MS = 86_400_000;
