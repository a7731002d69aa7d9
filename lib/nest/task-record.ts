import type { Duration } from '../core/duration.js';
import type { EnqueueOptions } from '../core/enqueue-options.js';

/** The options a {@link TaskRecord} carries: the enqueue options, and for `send()` its own timeout. */
export interface TaskRecordOptions extends EnqueueOptions {
  /** `send()` only: how long to wait for the result (overrides the client's `sendTimeout`). @defaultValue the client's */
  sendTimeout?: Duration | false;
}

/**
 * A payload with its enqueue options, for `TaskqClient.emit()` / `send()` (as Nest's `RmqRecord` carries RabbitMQ
 * options):
 *
 * ```ts
 * client.emit('email:reminder', new TaskRecord({ userId }, { processIn: '1h', queue: 'low' }));
 * ```
 */
export class TaskRecord<P = unknown> {
  constructor(
    /** The task payload. */
    readonly data: P,
    /** Enqueue options (queue, processIn, unique, headers...) and `sendTimeout`. @defaultValue `{}` */
    readonly options: TaskRecordOptions = {},
  ) {}
}

/** Builds a {@link TaskRecord} step by step (as Nest's `RmqRecordBuilder`). */
export class TaskRecordBuilder<P = unknown> {
  private options: TaskRecordOptions = {};

  constructor(private data?: P) {}

  /** Sets the payload. */
  setData(data: P): this {
    this.data = data;
    return this;
  }

  /** Merges enqueue options into those set so far. */
  setOptions(options: TaskRecordOptions): this {
    this.options = { ...this.options, ...options };
    return this;
  }

  /** Builds the record. */
  build(): TaskRecord<P> {
    return new TaskRecord(this.data as P, this.options);
  }
}
