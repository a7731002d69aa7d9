import type { EnqueueOptions } from '../core/enqueue-options.js';

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
    /** Enqueue options (queue, processIn, unique, headers...). @defaultValue `{}` */
    readonly options: EnqueueOptions = {},
  ) {}
}

/** Builds a {@link TaskRecord} step by step (as Nest's `RmqRecordBuilder`). */
export class TaskRecordBuilder<P = unknown> {
  private options: EnqueueOptions = {};

  constructor(private data?: P) {}

  /** Sets the payload. */
  setData(data: P): this {
    this.data = data;
    return this;
  }

  /** Merges enqueue options into those set so far. */
  setOptions(options: EnqueueOptions): this {
    this.options = { ...this.options, ...options };
    return this;
  }

  /** Builds the record. */
  build(): TaskRecord<P> {
    return new TaskRecord(this.data as P, this.options);
  }
}
